//! A byte-rate limit shared by every transfer of one direction
//! (`CRVideo_SetFileUploadRate` / `CRVideo_SetFileDownloadRate`).
//!
//! A token bucket kept in bytes: it fills at the rate, holds at most a tenth of a second's
//! worth, and a transfer takes what it just moved out of it, going into debt if need be;
//! the next one waits until the debt is paid. Kept in bytes (not in time) so that a new
//! rate applies at once to transfers already waiting: they look again at least every
//! [`RECHECK`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use parking_lot::Mutex;

use super::progress::Activity;

/// Longest single sleep of a waiting transfer.
const RECHECK: Duration = Duration::from_millis(100);

pub struct RateLimit {
    /// Bytes per second; 0 is unlimited.
    rate: AtomicU64,
    bucket: Mutex<Bucket>,
}

struct Bucket {
    /// Bytes that may move now (negative: owed).
    tokens: f64,
    filled_at: Instant,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            rate: AtomicU64::new(0),
            bucket: Mutex::new(Bucket {
                tokens: 0.0,
                filled_at: Instant::now(),
            }),
        }
    }
}

impl RateLimit {
    /// Sets the limit (0: none); applies at once.
    pub fn set(&self, bytes_per_sec: u64) {
        self.rate.store(bytes_per_sec, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.rate.load(Ordering::Relaxed)
    }

    /// Accounts `bytes` that just moved and waits until the limit allows more. Waiting on
    /// the limit counts as activity for the stall timeout.
    pub async fn take(&self, bytes: usize, activity: &Activity) {
        let mut charged = false;
        loop {
            let rate = self.get();
            if rate == 0 {
                return;
            }
            let wait = {
                let mut bucket = self.bucket.lock();
                let now = Instant::now();
                let burst = rate as f64 / 10.0;
                let earned = now.duration_since(bucket.filled_at).as_secs_f64() * rate as f64;
                bucket.tokens = (bucket.tokens + earned).min(burst);
                bucket.filled_at = now;
                if !charged {
                    bucket.tokens -= bytes as f64;
                    charged = true;
                }
                if bucket.tokens >= 0.0 {
                    return;
                }
                Duration::from_secs_f64(-bucket.tokens / rate as f64)
            };
            tokio::time::sleep(wait.min(RECHECK)).await;
            activity.touch();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_limit_spreads_bytes_over_time() {
        let limit = RateLimit::default();
        let activity = Activity::new();
        let start = Instant::now();
        limit.set(100_000);
        for _ in 0..10 {
            limit.take(50_000, &activity).await;
        }
        // 500,000 bytes at 100,000 a second: 5 s, less what the first take owed.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(4_500), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(5_200), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_limit_applies_to_a_transfer_already_waiting() {
        let limit = Arc::new(RateLimit::default());
        limit.set(1);
        let waiter = limit.clone();
        let waiting = tokio::spawn(async move {
            waiter.take(1_000_000, &Activity::new()).await;
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiting.is_finished());
        limit.set(0);
        let at = Instant::now();
        waiting.await.unwrap();
        assert!(at.elapsed() <= RECHECK, "{:?}", at.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits() {
        let limit = RateLimit::default();
        let at = Instant::now();
        limit.take(1 << 30, &Activity::new()).await;
        assert_eq!(at.elapsed(), Duration::ZERO);
    }
}
