//! When a transfer last moved (for the stall timeout) and when it last told the app
//! (`FileProgress` at most every [`PROGRESS_EVERY`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// `FileProgress` at most this often per transfer (plus a final one).
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The last time a transfer's bytes moved (or it waited on a rate limit).
pub struct Activity {
    base: Instant,
    /// Nanoseconds after `base`.
    last: AtomicU64,
}

impl Activity {
    pub fn new() -> Activity {
        Activity {
            base: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    /// Something moved just now.
    pub fn touch(&self) {
        let nanos = self.base.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
        self.last.fetch_max(nanos, Ordering::Relaxed);
    }

    /// Completes once nothing moved for `stall`.
    pub async fn stalled(&self, stall: Duration) {
        loop {
            let last = self.base + Duration::from_nanos(self.last.load(Ordering::Relaxed));
            let deadline = last + stall;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// Says when the next `FileProgress` is due.
pub struct Pace {
    last: Mutex<Option<Instant>>,
}

impl Pace {
    pub fn new() -> Pace {
        Pace {
            last: Mutex::new(None),
        }
    }

    /// True when a progress report is due now (and counts it as given).
    pub fn due(&self) -> bool {
        let now = Instant::now();
        let mut last = self.last.lock();
        match *last {
            Some(at) if now.duration_since(at) < PROGRESS_EVERY => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stall_is_the_time_since_the_last_touch() {
        let activity = Activity::new();
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(3)).await;
        activity.touch();
        activity.stalled(Duration::from_secs(5)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(8));
    }

    #[tokio::test(start_paused = true)]
    async fn progress_is_due_at_most_every_tenth_of_a_second() {
        let pace = Pace::new();
        assert!(pace.due());
        assert!(!pace.due());
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(!pace.due());
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(pace.due());
    }
}
