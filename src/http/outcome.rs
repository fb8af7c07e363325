//! How a transfer ended: the `rslt` of `FileFinished`.

/// `FileFinished`'s `rslt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rslt {
    /// 0: every byte arrived (a download is in place under its name).
    Ok,
    /// 1: the SDK could not run it (a fault of its own).
    Internal,
    /// 2: a header or form field name in `extParams` that HTTP cannot carry.
    Param,
    /// 3: no connection (refused, no such host, TLS certificate not trusted), or the
    /// connection broke.
    Unreachable,
    /// 4: no byte moved for the stall timeout.
    Timeout,
    /// 5: a local file could not be read, created, written or renamed, or a download's
    /// target exists already.
    FileOp,
    /// 6: `httpUrl` is not an http:// or https:// URL.
    BadUrl,
    /// 7: the same `filePathName` is queued or transferring already.
    Busy,
    /// 1000 + the status: the final answer was an HTTP error (>= 400), or a redirect that
    /// was not followed (the sixth in a row, or one that would need an upload's body sent
    /// again: 307, 308, or 301/302 to a PUT).
    Http(u16),
}

impl Rslt {
    pub fn code(self) -> i32 {
        match self {
            Rslt::Ok => 0,
            Rslt::Internal => 1,
            Rslt::Param => 2,
            Rslt::Unreachable => 3,
            Rslt::Timeout => 4,
            Rslt::FileOp => 5,
            Rslt::BadUrl => 6,
            Rslt::Busy => 7,
            Rslt::Http(status) => 1000 + i32::from(status),
        }
    }
}

/// What a failed request means for the app.
pub fn from_reqwest(e: &reqwest::Error) -> Rslt {
    if e.is_builder() {
        Rslt::Param
    } else if e.is_connect() || e.is_request() || e.is_body() || e.is_decode() {
        Rslt::Unreachable
    } else if e.is_timeout() {
        Rslt::Timeout
    } else {
        tracing::debug!("http transfer failed: {e}");
        Rslt::Unreachable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_contracts() {
        let all = [
            (Rslt::Ok, 0),
            (Rslt::Internal, 1),
            (Rslt::Param, 2),
            (Rslt::Unreachable, 3),
            (Rslt::Timeout, 4),
            (Rslt::FileOp, 5),
            (Rslt::BadUrl, 6),
            (Rslt::Busy, 7),
            (Rslt::Http(404), 1404),
            (Rslt::Http(302), 1302),
        ];
        for (rslt, code) in all {
            assert_eq!(rslt.code(), code, "{rslt:?}");
        }
    }
}
