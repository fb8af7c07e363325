//! Requests sent to the server and not yet answered, each with a deadline.
//!
//! Every entry ends exactly once: answered ([`Pending::complete`]), timed out
//! ([`Pending::expire`]) or failed because the session ended ([`Pending::fail_all`]).
//! Whichever comes first removes it, so the app gets exactly one result callback.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use serde_json::Value;

use crate::dispatch::Event;
use crate::ErrorCode;

/// Turns a request's outcome (reply data, or an error code) into the app's result event.
pub type ReplyHandler = Box<dyn FnOnce(Result<Value, i32>) -> Option<Event> + Send>;

struct Entry {
    deadline: Instant,
    handler: ReplyHandler,
}

#[derive(Default)]
pub struct Pending {
    entries: HashMap<u64, Entry>,
    by_deadline: BTreeSet<(Instant, u64)>,
}

impl Pending {
    pub fn insert(&mut self, id: u64, deadline: Instant, handler: ReplyHandler) {
        self.by_deadline.insert((deadline, id));
        self.entries.insert(id, Entry { deadline, handler });
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The result event of request `id` answered with `result`; `None` for an unknown id
    /// (already timed out: a late reply is dropped).
    pub fn complete(&mut self, id: u64, result: Result<Value, i32>) -> Option<Event> {
        let entry = self.entries.remove(&id)?;
        self.by_deadline.remove(&(entry.deadline, id));
        (entry.handler)(result)
    }

    /// The earliest deadline, if any request is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.by_deadline.first().map(|&(deadline, _)| deadline)
    }

    /// Fails every request whose deadline has passed with `NOSERVER_RSP`.
    pub fn expire(&mut self, now: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(&(deadline, id)) = self.by_deadline.first() {
            if deadline > now {
                break;
            }
            events.extend(self.complete(id, Err(ErrorCode::NoServerRsp.code())));
        }
        events
    }

    /// Fails every pending request with `code`, oldest first.
    pub fn fail_all(&mut self, code: ErrorCode) -> Vec<Event> {
        let mut ids: Vec<u64> = self.entries.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|id| self.complete(id, Err(code.code())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn handler(tag: i32) -> ReplyHandler {
        Box::new(move |r| {
            Some(Event::LineOff {
                code: r.map(|_| tag).unwrap_or_else(|c| tag * 1000 + c),
            })
        })
    }

    #[test]
    fn each_request_ends_once() {
        let now = Instant::now();
        let mut p = Pending::default();
        p.insert(1, now + Duration::from_secs(1), handler(1));
        p.insert(2, now + Duration::from_secs(2), handler(2));
        p.insert(3, now + Duration::from_secs(3), handler(3));
        assert_eq!(p.next_deadline(), Some(now + Duration::from_secs(1)));
        assert_eq!(
            p.complete(2, Ok(Value::Null)),
            Some(Event::LineOff { code: 2 })
        );
        assert_eq!(p.complete(2, Ok(Value::Null)), None, "answered twice");
        assert_eq!(
            p.expire(now + Duration::from_millis(1500)),
            vec![Event::LineOff { code: 1202 }]
        );
        assert_eq!(p.next_deadline(), Some(now + Duration::from_secs(3)));
        assert_eq!(
            p.fail_all(ErrorCode::ConnectionLost),
            vec![Event::LineOff { code: 3207 }]
        );
        assert!(p.is_empty());
        assert_eq!(p.next_deadline(), None);
    }

    #[test]
    fn fail_all_keeps_request_order() {
        let now = Instant::now();
        let mut p = Pending::default();
        for id in [5, 1, 9, 3] {
            p.insert(id, now, handler(id as i32));
        }
        let codes: Vec<i32> = p
            .fail_all(ErrorCode::NotLogin)
            .into_iter()
            .map(|e| match e {
                Event::LineOff { code } => code / 1000,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(codes, vec![1, 3, 5, 9]);
    }
}
