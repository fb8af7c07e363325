//! The net disk's plain requests: summary, list, delete.

use crvideo_proto::{NetDiskList, NetDiskSummary, Request};

use crate::client::RequestSpec;
use crate::dispatch::Event;
use crate::ErrorCode;

fn parse<T: serde::de::DeserializeOwned>(data: serde_json::Value) -> Result<T, i32> {
    serde_json::from_value(data).map_err(|_| ErrorCode::RspDatErr.code())
}

/// `CRVideo_GetNetDiskSummary`: quota and use (both 0 on failure).
pub fn summary() -> RequestSpec {
    RequestSpec::new(Request::NetdiskSummary, |_, result| {
        let summary = result.and_then(parse::<NetDiskSummary>);
        if let Err(code) = &summary {
            tracing::info!(code, "net disk: summary failed");
        }
        let (limit, used) = summary.map_or((0, 0), |s| (s.limit, s.used));
        Some(Event::GetNetDiskSummaryRslt {
            disk_limit: limit,
            disk_used: used,
        })
    })
}

/// `CRVideo_GetNetDiskFileList`: a JSON array of NetFileObj (`[]` on failure).
pub fn list() -> RequestSpec {
    RequestSpec::new(Request::NetdiskList, |_, result| {
        let list = result.and_then(parse::<NetDiskList>);
        if let Err(code) = &list {
            tracing::info!(code, "net disk: list failed");
        }
        let files = list.map_or_else(|_| Vec::new(), |l| l.files);
        Some(Event::GetNetDiskFileListRslt {
            file_list_json: serde_json::to_string(&files).expect("files serialise"),
        })
    })
}

/// `CRVideo_DeleteNetDiskFile`.
pub fn delete(file_id: String) -> RequestSpec {
    let request = Request::NetdiskDelete {
        file_id: file_id.clone(),
    };
    RequestSpec::new(request, move |_, result| {
        if let Err(code) = &result {
            tracing::info!(code, "net disk: delete failed");
        }
        Some(Event::NotifyNetDiskFileDeleteRslt {
            file_id,
            is_succeed: result.is_ok() as i32,
        })
    })
}

/// A request whose outcome only matters to the log.
pub fn signal(request: Request) -> RequestSpec {
    let op = request.op();
    RequestSpec::new(request, move |_, result| {
        if let Err(code) = result {
            tracing::debug!(code, "net disk: {op} refused");
        }
        None
    })
}
