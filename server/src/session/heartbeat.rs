//! Liveness of one connection: when to ping, and when the peer counts as dead.
//!
//! The server pings every `heartbeat_ms`; any frame from the client (Pong and Ping included)
//! counts as life; after `3 x heartbeat_ms` of silence the peer is dead.

use std::time::Duration;

use tokio::time::{interval_at, Instant, Interval, MissedTickBehavior};

/// Missed heartbeats after which a peer is dead.
pub const MISSED_BEATS: u32 = 3;

pub(crate) struct Heartbeat {
    pings: Interval,
    last_seen: Instant,
    dead_after: Duration,
}

impl Heartbeat {
    pub fn new(period: Duration) -> Heartbeat {
        let mut pings = interval_at(Instant::now() + period, period);
        pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Heartbeat {
            pings,
            last_seen: Instant::now(),
            dead_after: period * MISSED_BEATS,
        }
    }

    /// Something arrived from the peer.
    pub fn saw_life(&mut self) {
        self.last_seen = Instant::now();
    }

    /// When the peer counts as dead unless something arrives before.
    pub fn dead_at(&self) -> Instant {
        self.last_seen + self.dead_after
    }

    /// The silence after which the peer counts as dead.
    pub fn dead_after(&self) -> Duration {
        self.dead_after
    }

    /// Completes when the next ping is due.
    pub async fn ping_due(&mut self) {
        self.pings.tick().await;
    }
}
