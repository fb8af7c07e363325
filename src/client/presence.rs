//! Presence requests and notifications: how each becomes the app's callbacks.

use crvideo_proto::{Request, UserStatus, UserStatusList};

use super::{RequestSpec, SessionLocal};
use crate::dispatch::Event;
use crate::ErrorCode;

/// `CRVideo_SetDNDStatus`.
pub fn set_dnd(dnd: i32, cookie: String) -> RequestSpec {
    RequestSpec::new(Request::SetDnd { dnd }, move |_, result| {
        Some(match result {
            Ok(_) => Event::SetDNDStatusSuccess { cookie },
            Err(code) => Event::SetDNDStatusFail {
                sdk_err: code,
                cookie,
            },
        })
    })
}

/// `CRVideo_GetUserStatus`: the list as a JSON array of UserStatusObj.
pub fn get_user_status(cookie: String) -> RequestSpec {
    RequestSpec::new(Request::GetUserStatus, move |_, result| {
        let list = result.and_then(|data| {
            serde_json::from_value::<UserStatusList>(data).map_err(|_| ErrorCode::RspDatErr.code())
        });
        Some(match list {
            Ok(list) => Event::GetUserStatusSuccess {
                users_status_json: serde_json::to_string(&list.users).expect("statuses serialise"),
                cookie,
            },
            Err(code) => Event::GetUserStatusFail {
                sdk_err: code,
                cookie,
            },
        })
    })
}

/// `CRVideo_StartUserStatusNotify`: from its success on, notifications carry `cookie`.
pub fn start_notify(cookie: String) -> RequestSpec {
    RequestSpec::new(
        Request::SubscribeStatus,
        move |local: &mut SessionLocal, result| {
            let code = match result {
                Ok(_) => {
                    local.status_cookie = Some(cookie.clone());
                    0
                }
                Err(code) => code,
            };
            Some(Event::StartUserStatusNotifyRslt {
                sdk_err: code,
                cookie,
            })
        },
    )
}

/// `CRVideo_StopUserStatusNotify`: no notification follows its success.
pub fn stop_notify(cookie: String) -> RequestSpec {
    RequestSpec::new(
        Request::UnsubscribeStatus,
        move |local: &mut SessionLocal, result| {
            let code = match result {
                Ok(_) => {
                    local.status_cookie = None;
                    0
                }
                Err(code) => code,
            };
            Some(Event::StopUserStatusNotifyRslt {
                sdk_err: code,
                cookie,
            })
        },
    )
}

/// A presence change from the server: a NotifyUserStatus while subscribed.
pub fn on_user_status(local: &SessionLocal, status: UserStatus) -> Option<Event> {
    let cookie = local.status_cookie.clone()?;
    Some(Event::NotifyUserStatus {
        user_status_json: serde_json::to_string(&status).expect("statuses serialise"),
        cookie,
    })
}
