//! Fan-out bookkeeping: per message, how many receivers have it, and when the first and the
//! last of them got it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::BenchResult;

pub struct Fanout {
    receivers: usize,
    counts: Vec<AtomicUsize>,
    first: Vec<OnceLock<Instant>>,
    last: Vec<OnceLock<Instant>>,
    all_in: Notify,
    /// Messages that belong to no message index (an error if not 0).
    pub stray: AtomicUsize,
}

impl Fanout {
    /// Bookkeeping of `messages` messages, each for `receivers` receivers.
    pub fn new(messages: usize, receivers: usize) -> Fanout {
        Fanout {
            receivers,
            counts: (0..messages).map(|_| AtomicUsize::new(0)).collect(),
            first: (0..messages).map(|_| OnceLock::new()).collect(),
            last: (0..messages).map(|_| OnceLock::new()).collect(),
            all_in: Notify::new(),
            stray: AtomicUsize::new(0),
        }
    }

    /// One receiver has parsed message `i` (None or out of range: a stray message).
    pub fn arrived(&self, i: Option<usize>) {
        let Some(count) = i.and_then(|i| self.counts.get(i)) else {
            self.stray.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let i = i.unwrap_or_default();
        let now = Instant::now();
        let n = count.fetch_add(1, Ordering::AcqRel) + 1;
        if n == 1 {
            let _ = self.first[i].set(now);
        }
        if n == self.receivers {
            let _ = self.last[i].set(now);
            self.all_in.notify_one();
        }
    }

    /// Waits up to `within` until message `i` reached every receiver; returns the first and
    /// the last arrival.
    pub async fn wait(&self, i: usize, within: Duration) -> BenchResult<(Instant, Instant)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.all_in.notified();
            if let Some(&last) = self.last[i].get() {
                return Ok((*self.first[i].get().unwrap_or(&last), last));
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(format!(
                    "message {i} reached {} of {} receivers within {within:?}",
                    self.counts[i].load(Ordering::Relaxed),
                    self.receivers
                ));
            }
        }
    }
}
