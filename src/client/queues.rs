//! Call-center queues: requests, the server's queue events, and the SDK's own copy of the
//! queue data that the synchronous getters (`CRVideo_GetAllQueueInfo`, …) answer from.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crvideo_proto::{
    Event as WireEvent, QueueInfo, QueueList, QueueStatus, QueueUser, QueuingInfo, Request,
};
use parking_lot::Mutex;

use super::RequestSpec;
use crate::dispatch::Event;
use crate::ErrorCode;

/// What the SDK knows of the queues, kept current by replies and events. Shared with the
/// API thread (the getters), so it is behind a lock; never held while calling the app.
#[derive(Debug)]
pub struct QueueCache {
    /// The tenant's queues, from `CRVideo_InitQueueDat` (empty before).
    pub infos: Vec<QueueInfo>,
    /// The last status heard of each queue.
    pub statuses: BTreeMap<i32, QueueStatus>,
    /// This user's place as a customer.
    pub queuing: QueuingInfo,
    /// Queues this user serves as an agent.
    pub serving: BTreeSet<i32>,
}

impl Default for QueueCache {
    fn default() -> Self {
        QueueCache {
            infos: Vec::new(),
            statuses: BTreeMap::new(),
            queuing: QueuingInfo::not_queuing(),
            serving: BTreeSet::new(),
        }
    }
}

pub type SharedQueueCache = Arc<Mutex<QueueCache>>;

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("queue objects serialise")
}

fn parse<T: serde::de::DeserializeOwned>(data: serde_json::Value) -> Result<T, i32> {
    serde_json::from_value(data).map_err(|_| ErrorCode::RspDatErr.code())
}

/// `CRVideo_InitQueueDat`.
pub fn init(cache: SharedQueueCache, cookie: String) -> RequestSpec {
    RequestSpec::new(Request::QueueInit, move |_, result| {
        let code = match result.and_then(parse::<QueueList>) {
            Ok(list) => {
                let mut cache = cache.lock();
                cache.infos = list.queues;
                cache.statuses = list.statuses.into_iter().map(|s| (s.que_id, s)).collect();
                0
            }
            Err(code) => code,
        };
        Some(Event::InitQueueDatRslt {
            sdk_err: code,
            cookie,
        })
    })
}

/// `CRVideo_RefreshAllQueueStatus`: one QueueStatusChanged per queue; no result callback.
pub fn refresh(cache: SharedQueueCache) -> RequestSpec {
    RequestSpec::new(Request::QueueRefresh, move |_, result| {
        let list = result.and_then(parse::<QueueList>).ok()?;
        let mut events = Vec::new();
        let mut cache = cache.lock();
        for status in list.statuses {
            events.push(to_json(&status));
            cache.statuses.insert(status.que_id, status);
        }
        drop(cache);
        Some(Event::Batch(
            events
                .into_iter()
                .map(|json| Event::QueueStatusChanged {
                    que_status_json: json,
                })
                .collect(),
        ))
    })
}

/// `CRVideo_StartQueuing`.
pub fn start_queuing(que_id: i32, usr_ext_dat: String, cookie: String) -> RequestSpec {
    RequestSpec::new(
        Request::StartQueuing {
            que_id,
            usr_ext_dat,
        },
        move |_, result| {
            Some(Event::StartQueuingRslt {
                sdk_err: result.err().unwrap_or(0),
                cookie,
            })
        },
    )
}

/// `CRVideo_StopQueuing`.
pub fn stop_queuing(cookie: String) -> RequestSpec {
    RequestSpec::new(Request::StopQueuing, move |_, result| {
        Some(Event::StopQueuingRslt {
            sdk_err: result.err().unwrap_or(0),
            cookie,
        })
    })
}

/// `CRVideo_StartService`.
pub fn start_service(
    cache: SharedQueueCache,
    que_id: i32,
    priority: i32,
    cookie: String,
) -> RequestSpec {
    RequestSpec::new(
        Request::StartService { que_id, priority },
        move |_, result| {
            let code = result.err().unwrap_or(0);
            if code == 0 {
                cache.lock().serving.insert(que_id);
            }
            Some(Event::StartServiceRslt {
                que_id,
                sdk_err: code,
                cookie,
            })
        },
    )
}

/// `CRVideo_StopService`.
pub fn stop_service(cache: SharedQueueCache, que_id: i32, cookie: String) -> RequestSpec {
    RequestSpec::new(Request::StopService { que_id }, move |_, result| {
        let code = result.err().unwrap_or(0);
        if code == 0 {
            cache.lock().serving.remove(&que_id);
        }
        Some(Event::StopServiceRslt {
            que_id,
            sdk_err: code,
            cookie,
        })
    })
}

/// `CRVideo_ReqAssignUser`: the assigned QueueUser, or "" with the error.
pub fn req_assign_user(cookie: String) -> RequestSpec {
    RequestSpec::new(Request::ReqAssignUser, move |_, result| {
        Some(match result.and_then(parse::<QueueUser>) {
            Ok(user) => Event::ReqAssignUserRslt {
                sdk_err: 0,
                que_user_json: to_json(&user),
                cookie,
            },
            Err(code) => Event::ReqAssignUserRslt {
                sdk_err: code,
                que_user_json: String::new(),
                cookie,
            },
        })
    })
}

/// `CRVideo_AcceptAssignUser` / `CRVideo_RejectAssignUser`.
pub fn respond_assign_user(
    accept: bool,
    que_id: i32,
    user_id: String,
    cookie: String,
) -> RequestSpec {
    let request = if accept {
        Request::AcceptAssignUser { que_id, user_id }
    } else {
        Request::RejectAssignUser { que_id, user_id }
    };
    RequestSpec::new(request, move |_, result| {
        Some(Event::ResponseAssignUserRslt {
            sdk_err: result.err().unwrap_or(0),
            cookie,
        })
    })
}

/// The app event for a queue event from the server (updating the cache).
pub fn on_event(cache: &SharedQueueCache, event: WireEvent) -> Option<Event> {
    Some(match event {
        WireEvent::QueueStatus(status) => {
            let json = to_json(&status);
            cache.lock().statuses.insert(status.que_id, status);
            Event::QueueStatusChanged {
                que_status_json: json,
            }
        }
        WireEvent::QueuingInfo(info) => {
            let json = to_json(&info);
            cache.lock().queuing = info;
            Event::QueuingInfoChanged {
                queuing_info_json: json,
            }
        }
        WireEvent::AutoAssignUser(user) => Event::AutoAssignUser {
            que_user_json: to_json(&user),
        },
        WireEvent::CancelAssignUser { que_id, user_id } => Event::CancelAssignUser {
            que_id,
            usr_id: user_id,
        },
        // The engine routes only queue events here.
        _ => return None,
    })
}

impl QueueCache {
    pub fn infos_json(&self) -> String {
        to_json(&self.infos)
    }

    /// The last status of `que_id`, or "" for a queue the SDK does not know.
    pub fn status_json(&self, que_id: i32) -> String {
        self.statuses.get(&que_id).map(to_json).unwrap_or_default()
    }

    pub fn queuing_json(&self) -> String {
        to_json(&self.queuing)
    }

    pub fn serving_json(&self) -> String {
        to_json(&self.serving.iter().collect::<Vec<_>>())
    }

    /// Forgets the session's part (its queuing and serving); the queue list stays.
    pub fn end_session(&mut self) {
        self.queuing = QueuingInfo::not_queuing();
        self.serving.clear();
    }
}
