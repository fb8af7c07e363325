//! Requests sent to the server and not yet answered, each with a deadline.
//!
//! Every entry ends exactly once: answered ([`Pending::take`]), timed out
//! ([`Pending::expired`]) or failed because the session ended ([`Pending::drain`]).
//! Whichever comes first removes it and hands its handler to the engine, which runs it once,
//! so the app gets exactly one result callback.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use serde_json::Value;

use super::SessionLocal;
use crate::dispatch::Event;

/// Turns a request's outcome (reply data, or an error code) into the app's result event,
/// updating the session's local state where the request changes it.
pub type ReplyHandler =
    Box<dyn FnOnce(&mut SessionLocal, Result<Value, i32>) -> Option<Event> + Send>;

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

    /// The handler of request `id`; `None` for an unknown id (already timed out: a late
    /// reply is dropped).
    pub fn take(&mut self, id: u64) -> Option<ReplyHandler> {
        let entry = self.entries.remove(&id)?;
        self.by_deadline.remove(&(entry.deadline, id));
        Some(entry.handler)
    }

    /// The earliest deadline, if any request is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.by_deadline.first().map(|&(deadline, _)| deadline)
    }

    /// Removes and returns the handlers whose deadline has passed, oldest deadline first.
    pub fn expired(&mut self, now: Instant) -> Vec<ReplyHandler> {
        let mut handlers = Vec::new();
        while let Some(&(deadline, id)) = self.by_deadline.first() {
            if deadline > now {
                break;
            }
            handlers.extend(self.take(id));
        }
        handlers
    }

    /// Removes and returns every handler, oldest request first.
    pub fn drain(&mut self) -> Vec<ReplyHandler> {
        let mut ids: Vec<u64> = self.entries.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter().filter_map(|id| self.take(id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn handler(tag: i32) -> ReplyHandler {
        Box::new(move |_, r| {
            Some(Event::LineOff {
                sdk_err: r.map(|_| tag).unwrap_or_else(|c| tag * 1000 + c),
            })
        })
    }

    fn run(handlers: Vec<ReplyHandler>, result: Result<Value, i32>) -> Vec<Event> {
        let mut local = SessionLocal::default();
        handlers
            .into_iter()
            .filter_map(|h| h(&mut local, result.clone()))
            .collect()
    }

    #[test]
    fn each_request_ends_once() {
        let now = Instant::now();
        let mut p = Pending::default();
        p.insert(1, now + Duration::from_secs(1), handler(1));
        p.insert(2, now + Duration::from_secs(2), handler(2));
        p.insert(3, now + Duration::from_secs(3), handler(3));
        assert_eq!(p.next_deadline(), Some(now + Duration::from_secs(1)));
        let answered: Vec<_> = p.take(2).into_iter().collect();
        assert_eq!(
            run(answered, Ok(Value::Null)),
            vec![Event::LineOff { sdk_err: 2 }]
        );
        assert!(p.take(2).is_none(), "answered twice");
        let expired = p.expired(now + Duration::from_millis(1500));
        assert_eq!(
            run(expired, Err(202)),
            vec![Event::LineOff { sdk_err: 1202 }]
        );
        assert_eq!(p.next_deadline(), Some(now + Duration::from_secs(3)));
        assert_eq!(
            run(p.drain(), Err(207)),
            vec![Event::LineOff { sdk_err: 3207 }]
        );
        assert!(p.is_empty());
        assert_eq!(p.next_deadline(), None);
    }

    #[test]
    fn drain_keeps_request_order() {
        let now = Instant::now();
        let mut p = Pending::default();
        for id in [5, 1, 9, 3] {
            p.insert(id, now, handler(id as i32));
        }
        let tags: Vec<i32> = run(p.drain(), Ok(Value::Null))
            .into_iter()
            .map(|e| match e {
                Event::LineOff { sdk_err: code } => code,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(tags, vec![1, 3, 5, 9]);
    }
}
