//! The meetObj argument of `CRVideo_Call` / `CRVideo_AcceptCall` / `CRVideo_Invite`
//! (`crvideosdk::ffi::meet_obj_arg`), given what C would pass: the input up to its first NUL.
//!
//! Invariants:
//! - a refusal is `PARAM_ERR`;
//! - an accepted meetObj is the app's text unchanged: blank, or a JSON object;
//! - it crosses the wire unchanged (in the call request, and in the event the callee gets),
//!   in a frame the server's depth check lets through whatever the meetObj's own nesting.
#![no_main]

use std::ffi::CString;

use crvideo_proto::{decode, encode, ClientFrame, ErrorCode, Event, Request, ServerFrame};
use crvideo_server::json_depth_exceeds;
use crvideosdk::ffi::meet_obj_arg;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let bytes = data.split(|&b| b == 0).next().unwrap_or_default();
    let c_text = CString::new(bytes).unwrap();
    // SAFETY: a valid NUL-terminated string that outlives the call.
    let result = unsafe { meet_obj_arg(c_text.as_ptr()) };
    let Ok(meet_obj) = result else {
        assert_eq!(result, Err(ErrorCode::ParamErr));
        return;
    };
    assert_eq!(meet_obj.as_bytes(), bytes, "passed on unchanged");
    if !meet_obj.trim().is_empty() {
        let value: Value = serde_json::from_str(&meet_obj).expect("accepted text is JSON");
        assert!(value.is_object());
    }

    let request = ClientFrame {
        id: 1,
        request: Request::Call {
            call_id: "c1".into(),
            callee: "bob".into(),
            meet_obj: meet_obj.clone(),
            usr_ext_dat: String::new(),
        },
    };
    let wire = encode(&request);
    assert!(!json_depth_exceeds(&wire, 1));
    assert_eq!(decode::<ClientFrame>(&wire).unwrap(), request);

    let event = ServerFrame::Event(Event::CallIn {
        call_id: "c1".into(),
        meet_obj,
        caller: "alice".into(),
        usr_ext_dat: String::new(),
    });
    let wire = encode(&event);
    assert!(!json_depth_exceeds(&wire, 1));
    assert_eq!(decode::<ServerFrame>(&wire).unwrap(), event);
});
