//! Calls and invitations: requests, and the server's call events as app events.

use crvideo_proto::{Event as WireEvent, Request};

use super::RequestSpec;
use crate::dispatch::Event;

/// A fresh call or invitation ID: 128 random bits as 32 hex digits, so IDs never repeat
/// (across server restarts too) and cannot be guessed.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("the OS random source is available");
    crvideo_proto::hex(&bytes)
}

/// `CRVideo_Call`.
pub fn call(
    call_id: String,
    callee: String,
    meet_obj: String,
    usr_ext_dat: String,
    cookie: String,
) -> RequestSpec {
    let request = Request::Call {
        call_id: call_id.clone(),
        callee,
        meet_obj,
        usr_ext_dat,
    };
    RequestSpec::new(request, move |_, result| {
        Some(match result {
            Ok(_) => Event::CallSuccess { call_id, cookie },
            Err(code) => Event::CallFail {
                call_id,
                sdk_err: code,
                cookie,
            },
        })
    })
}

/// `CRVideo_AcceptCall`.
pub fn accept(
    call_id: String,
    meet_obj: String,
    usr_ext_dat: String,
    cookie: String,
) -> RequestSpec {
    let request = Request::AcceptCall {
        call_id: call_id.clone(),
        meet_obj,
        usr_ext_dat,
    };
    RequestSpec::new(request, move |_, result| {
        Some(match result {
            Ok(_) => Event::AcceptCallSuccess { call_id, cookie },
            Err(code) => Event::AcceptCallFail {
                call_id,
                sdk_err: code,
                cookie,
            },
        })
    })
}

/// `CRVideo_RejectCall`.
pub fn reject(call_id: String, usr_ext_dat: String, cookie: String) -> RequestSpec {
    let request = Request::RejectCall {
        call_id: call_id.clone(),
        usr_ext_dat,
    };
    RequestSpec::new(request, move |_, result| {
        Some(match result {
            Ok(_) => Event::RejectCallSuccess { call_id, cookie },
            Err(code) => Event::RejectCallFail {
                call_id,
                sdk_err: code,
                cookie,
            },
        })
    })
}

/// `CRVideo_HungupCall`.
pub fn hang_up(call_id: String, usr_ext_dat: String, cookie: String) -> RequestSpec {
    let request = Request::HangupCall {
        call_id: call_id.clone(),
        usr_ext_dat,
    };
    RequestSpec::new(request, move |_, result| {
        Some(match result {
            Ok(_) => Event::HangupCallSuccess { call_id, cookie },
            Err(code) => Event::HangupCallFail {
                call_id,
                sdk_err: code,
                cookie,
            },
        })
    })
}

/// `CRVideo_ClientInvite`.
pub fn invite(invite_id: String, invitee: String, meet_obj: String, cookie: String) -> RequestSpec {
    let request = Request::Invite {
        invite_id: invite_id.clone(),
        invitee,
        meet_obj,
    };
    RequestSpec::new(request, move |_, result| {
        Some(Event::ClientInviteRslt {
            invite_id,
            sdk_err: result.err().unwrap_or(0),
            cookie,
        })
    })
}

/// `CRVideo_ClientCancelInvite`.
pub fn cancel_invite(invite_id: String, cookie: String) -> RequestSpec {
    let request = Request::CancelInvite {
        invite_id: invite_id.clone(),
    };
    RequestSpec::new(request, move |_, result| {
        Some(Event::ClientCancelInviteRslt {
            invite_id,
            sdk_err: result.err().unwrap_or(0),
            cookie,
        })
    })
}

/// The app event for a call event from the server; `None` for other events.
pub fn on_event(event: WireEvent) -> Option<Event> {
    Some(match event {
        WireEvent::CallIn {
            call_id,
            meet_obj,
            caller,
            usr_ext_dat,
        } => Event::NotifyCallIn {
            call_id,
            meet_obj_json: meet_obj,
            caller_id: caller,
            usr_ext_dat,
        },
        WireEvent::CallAccepted {
            call_id,
            meet_obj,
            usr_ext_dat,
        } => Event::NotifyCallAccepted {
            call_id,
            meet_obj_json: meet_obj,
            usr_ext_dat,
        },
        WireEvent::CallRejected {
            call_id,
            code,
            usr_ext_dat,
        } => Event::NotifyCallRejected {
            call_id,
            sdk_err: code,
            usr_ext_dat,
        },
        WireEvent::CallHungup {
            call_id,
            usr_ext_dat,
        } => Event::NotifyCallHungup {
            call_id,
            usr_ext_dat,
        },
        WireEvent::InviteStatus { invite_id, status } => {
            Event::NotifyInviteStatus { invite_id, status }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fresh_32_hex_digits() {
        let a = new_id();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(crvideo_proto::valid_call_id(&a));
        assert_ne!(a, new_id());
    }
}
