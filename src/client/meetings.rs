//! Meeting requests: create, destroy, list.

use crvideo_proto::{MeetInfo, MeetingList, Request};

use super::RequestSpec;
use crate::dispatch::Event;
use crate::ErrorCode;

/// Parses reply data, or `RSPDAT_ERR`.
fn parse<T: serde::de::DeserializeOwned>(data: serde_json::Value) -> Result<T, i32> {
    serde_json::from_value(data).map_err(|_| ErrorCode::RspDatErr.code())
}

/// `CRVideo_CreateMeeting`: the new MeetInfoObj on success.
pub fn create(subject: String, with_password: bool, cookie: String) -> RequestSpec {
    let request = Request::CreateMeeting {
        subject,
        with_password,
    };
    RequestSpec::new(request, move |_, result| {
        Some(match result.and_then(parse::<MeetInfo>) {
            Ok(meeting) => Event::CreateMeetingSuccess {
                meet_obj_json: serde_json::to_string(&meeting).expect("meetings serialise"),
                cookie,
            },
            Err(code) => Event::CreateMeetingFail {
                sdk_err: code,
                cookie,
            },
        })
    })
}

/// `CRVideo_DestroyMeeting`.
pub fn destroy(meet_id: i32, cookie: String) -> RequestSpec {
    RequestSpec::new(Request::DestroyMeeting { meet_id }, move |_, result| {
        Some(Event::DestroyMeetingRslt {
            sdk_err: result.err().unwrap_or(0),
            cookie,
        })
    })
}

/// `CRVideo_GetMeetings`: a JSON array of MeetInfoObj.
pub fn list(cookie: String) -> RequestSpec {
    RequestSpec::new(Request::GetMeetings, move |_, result| {
        Some(match result.and_then(parse::<MeetingList>) {
            Ok(list) => Event::GetMeetingsSuccess {
                meetings_json: serde_json::to_string(&list.meetings).expect("meetings serialise"),
                cookie,
            },
            Err(code) => Event::GetMeetingsFail {
                sdk_err: code,
                cookie,
            },
        })
    })
}
