//! Call-center queue exports: queue data, customers (queuing) and agents (service).

use std::ffi::{c_char, c_int};

use super::{arg_str, cookie_arg, opt_str, returns_code, returns_string};
use crate::client::queues::{self, QueueCache};
use crate::instance;

/// A JSON string from the SDK's queue data: NULL only when not initialised. Free it with
/// `CRVideo_FreeString`.
fn queue_json(read: impl FnOnce(&QueueCache) -> String) -> *mut c_char {
    returns_string(|| {
        let instance = instance::current()?;
        let json = read(&instance.queues.lock());
        Ok(json)
    })
}

/// Loads the tenant's queues (configured on the server) into the SDK, for the getters below.
///
/// Returns 0, then `InitQueueDatRslt(sdkErr, cookie)` follows. Without callback:
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`, `CRVIDEOSDK_PARAM_ERR`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_InitQueueDat(cookie: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(queues::init(instance.queues.clone(), cookie))
    })
}

/// Asks for the status of every queue: one `QueueStatusChanged` per queue follows (there is
/// no other result callback). Returns 0, `CRVIDEOSDK_NOT_LOGIN` or `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_RefreshAllQueueStatus() -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        instance.request(queues::refresh(instance.queues.clone()))
    })
}

/// The tenant's queues as a JSON array of QueueInfo
/// (`[{"queID":1,"name":"sales","desc":"","prio":1}]`, most important first); `[]` before
/// `InitQueueDatRslt(0)`. NULL only when not initialised. Free with `CRVideo_FreeString`.
#[no_mangle]
pub extern "C" fn CRVideo_GetAllQueueInfo() -> *mut c_char {
    queue_json(QueueCache::infos_json)
}

/// The last known QueueStatus of queue `queID` (`{"queID":1,"agent_num":2,"wait_num":3,
/// "srv_num":1}`): from `CRVideo_InitQueueDat`, `CRVideo_RefreshAllQueueStatus` or a
/// `QueueStatusChanged`; `""` for a queue the SDK does not know. NULL only when not
/// initialised. Free with `CRVideo_FreeString`.
#[no_mangle]
pub extern "C" fn CRVideo_GetQueueStatus(queID: c_int) -> *mut c_char {
    queue_json(|cache| cache.status_json(queID))
}

/// This user's QueuingInfo (`{"queID":1,"position":0,"queuingTime":17}`; `queID` -1 when
/// not queuing), as last reported by `QueuingInfoChanged`. NULL only when not initialised.
/// Free with `CRVideo_FreeString`.
#[no_mangle]
pub extern "C" fn CRVideo_GetQueuingInfo() -> *mut c_char {
    queue_json(QueueCache::queuing_json)
}

/// The IDs of the queues this user serves as an agent, a JSON array (`[1,3]`). NULL only when
/// not initialised. Free with `CRVideo_FreeString`.
#[no_mangle]
pub extern "C" fn CRVideo_GetServingQueues() -> *mut c_char {
    queue_json(QueueCache::serving_json)
}

/// Customer: wait in queue `queID`; `usrExtDat` (may be NULL) is shown to the agent.
///
/// Returns 0, then `StartQueuingRslt(sdkErr, cookie)`: 0 (also when already in this queue),
/// `CRVIDEOSDK_QUE_ID_INVALID`, `CRVIDEOSDK_ALREADY_OTHERQUE`. `QueuingInfoChanged` reports
/// the place, and again when it changes (at most once per 100 ms). Without callback:
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`, `CRVIDEOSDK_PARAM_ERR`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_StartQueuing(
    queID: c_int,
    usrExtDat: *const c_char,
    cookie: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let usr_ext_dat = opt_str(usrExtDat)?.to_owned();
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(queues::start_queuing(queID, usr_ext_dat, cookie))
    })
}

/// Customer: leave the queue (harmless when not queuing).
///
/// Returns 0, then `StopQueuingRslt(sdkErr, cookie)`. Errors without callback as for
/// `CRVideo_StartQueuing`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_StopQueuing(cookie: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(queues::stop_queuing(cookie))
    })
}

/// Agent: serve queue `queID` with `priority` (a lower number gets customers first; calling
/// again changes it). With do-not-disturb off, customers are then assigned automatically
/// (`AutoAssignUser`); with it on, only through `CRVideo_ReqAssignUser`.
///
/// Returns 0, then `StartServiceRslt(queID, sdkErr, cookie)`: 0 or
/// `CRVIDEOSDK_QUE_ID_INVALID`. Errors without callback as for `CRVideo_StartQueuing`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_StartService(
    queID: c_int,
    priority: c_int,
    cookie: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(queues::start_service(
            instance.queues.clone(),
            queID,
            priority,
            cookie,
        ))
    })
}

/// Agent: stop serving queue `queID` (an assignment from it is withdrawn).
///
/// Returns 0, then `StopServiceRslt(queID, sdkErr, cookie)`: 0 or
/// `CRVIDEOSDK_QUE_SERVICE_NOT_START`. Errors without callback as for `CRVideo_StartQueuing`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_StopService(queID: c_int, cookie: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(queues::stop_service(instance.queues.clone(), queID, cookie))
    })
}

/// Agent: ask for the next customer now (the way agents with do-not-disturb on get
/// customers; also ends the agent's current service). The earliest waiting customer this agent
/// did not reject or let time out comes first; if there is none, the earliest one it did: a
/// customer never waits while an agent of its queue asks.
///
/// Returns 0, then `ReqAssignUserRslt(sdkErr, queUserJson, cookie)`: 0 with the assigned
/// QueueUser (answer it with `CRVideo_AcceptAssignUser` / `CRVideo_RejectAssignUser`),
/// `CRVIDEOSDK_QUE_NOUSER` (nobody waits unassigned) or `CRVIDEOSDK_QUE_SERVICE_NOT_START`
/// (serving no queue). Errors without callback as for `CRVideo_StartQueuing`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_ReqAssignUser(cookie: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(queues::req_assign_user(cookie))
    })
}

/// Agent: take the customer `usrID` assigned from queue `queID`: they leave the queue, and the
/// agent is in service (busy) until a call between them ends. Call them with `CRVideo_Call`.
/// While in service, calls and invitations from other users get `CRVIDEOSDK_ERR_BUSY`.
///
/// Returns 0, then `ResponseAssignUserRslt(sdkErr, cookie)`: 0,
/// `CRVIDEOSDK_QUE_SERVICE_NOT_START`, or `CRVIDEOSDK_QUE_USER_CANCELLED` (the assignment is
/// gone: timed out, or the customer left). Without callback: `CRVIDEOSDK_PARAM_ERR` (NULL
/// usrID), `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_AcceptAssignUser(
    queID: c_int,
    usrID: *const c_char,
    cookie: *const c_char,
) -> c_int {
    respond(true, queID, usrID, cookie)
}

/// Agent: decline the customer `usrID` assigned from queue `queID`; they keep their place
/// at the head of the queue and go to another agent. If no other agent takes them within the
/// server's `call_timeout_secs`, they are offered to this agent again (and `ReqAssignUser` may
/// return them at any time, after the customers it did not decline).
///
/// Returns 0, then `ResponseAssignUserRslt(sdkErr, cookie)`; errors as for
/// `CRVideo_AcceptAssignUser`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_RejectAssignUser(
    queID: c_int,
    usrID: *const c_char,
    cookie: *const c_char,
) -> c_int {
    respond(false, queID, usrID, cookie)
}

unsafe fn respond(
    accept: bool,
    que_id: c_int,
    user: *const c_char,
    cookie: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let user = arg_str(user)?.to_owned();
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(queues::respond_assign_user(accept, que_id, user, cookie))
    })
}
