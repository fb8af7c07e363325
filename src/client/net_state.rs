//! The connection's quality while in a meeting, `NetStateChanged(level)`: 0–10, 10 best.
//!
//! Derived from the heartbeat pings (see `connection.rs`): the round trips of the last
//! [`WINDOW`] pongs, and pings still unanswered when the next one goes out (a loss, or a
//! round trip longer than a heartbeat: on TCP a lost packet shows up as delay). The level
//! of the window's mean round trip is taken down by one per unanswered ping. It is reported
//! only while in a meeting and only when it changes; each meeting entered hears the level
//! once it is known (at the first ping or pong after entering).

use std::collections::VecDeque;
use std::time::Duration;

/// Round trips averaged.
pub const WINDOW: usize = 4;

/// Round-trip upper bounds (ms) of levels 10, 9, ... 1; above the last one: 0.
const LEVEL_BOUNDS_MS: [u64; 10] = [50, 100, 150, 200, 300, 400, 600, 800, 1200, 2000];

/// The level of a mean round trip.
pub fn level_of(rtt: Duration) -> i32 {
    let ms = rtt.as_millis();
    let slower = LEVEL_BOUNDS_MS
        .iter()
        .take_while(|&&b| ms > b as u128)
        .count();
    10 - slower as i32
}

#[derive(Debug, Default)]
pub struct NetState {
    round_trips: VecDeque<Duration>,
    /// Pings sent and not yet answered.
    outstanding: u32,
    /// Pings found unanswered when the next went out, among the last [`WINDOW`] pings.
    late: VecDeque<bool>,
    /// The meeting entry (see `rooms::Room::entry`) and the level reported in it.
    reported: Option<(u64, i32)>,
}

impl NetState {
    /// A ping went out.
    pub fn ping_sent(&mut self) {
        self.push_late(self.outstanding > 0);
        self.outstanding += 1;
    }

    /// A pong came back after `rtt`.
    pub fn pong(&mut self, rtt: Duration) {
        self.outstanding = self.outstanding.saturating_sub(1);
        if self.round_trips.len() == WINDOW {
            self.round_trips.pop_front();
        }
        self.round_trips.push_back(rtt);
    }

    fn push_late(&mut self, late: bool) {
        if self.late.len() == WINDOW {
            self.late.pop_front();
        }
        self.late.push_back(late);
    }

    /// The current level, once a round trip was measured.
    pub fn level(&self) -> Option<i32> {
        if self.round_trips.is_empty() {
            return None;
        }
        let mean = self.round_trips.iter().sum::<Duration>() / self.round_trips.len() as u32;
        let late = self.late.iter().filter(|&&l| l).count() as i32;
        Some((level_of(mean) - late).max(0))
    }

    /// The level to report now: `Some` when in a meeting (`meeting`: its entry number) and
    /// the level differs from the last one reported in that meeting entry.
    pub fn level_to_report(&mut self, meeting: Option<u64>) -> Option<i32> {
        let entry = meeting?;
        let level = self.level()?;
        if self.reported == Some((entry, level)) {
            return None;
        }
        self.reported = Some((entry, level));
        Some(level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn levels_fall_as_round_trips_grow() {
        assert_eq!(level_of(ms(1)), 10);
        assert_eq!(level_of(ms(50)), 10);
        assert_eq!(level_of(ms(51)), 9);
        assert_eq!(level_of(ms(250)), 6);
        assert_eq!(level_of(ms(2000)), 1);
        assert_eq!(level_of(ms(2001)), 0);
        let levels: Vec<i32> = (0..3000).step_by(10).map(|n| level_of(ms(n))).collect();
        assert!(levels.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn reported_in_a_meeting_only_on_change() {
        let mut s = NetState::default();
        s.ping_sent();
        s.pong(ms(5));
        assert_eq!(s.level_to_report(None), None, "not in a meeting");
        assert_eq!(s.level_to_report(Some(1)), Some(10));
        s.ping_sent();
        s.pong(ms(6));
        assert_eq!(s.level_to_report(Some(1)), None, "unchanged");
        // Slow round trips take the mean down.
        for _ in 0..WINDOW {
            s.ping_sent();
            s.pong(ms(500));
        }
        assert_eq!(s.level_to_report(Some(1)), Some(4));
        // The next meeting entered hears the level again.
        assert_eq!(s.level_to_report(None), None);
        assert_eq!(s.level_to_report(Some(2)), Some(4));
    }

    #[test]
    fn unanswered_pings_lower_the_level_until_answers_return() {
        let mut s = NetState::default();
        s.ping_sent();
        s.pong(ms(5));
        assert_eq!(s.level_to_report(Some(1)), Some(10));
        s.ping_sent();
        s.ping_sent(); // the previous one is still out
        s.ping_sent();
        assert_eq!(s.level_to_report(Some(1)), Some(8));
        for _ in 0..3 {
            s.pong(ms(5));
        }
        for _ in 0..WINDOW {
            s.ping_sent();
            s.pong(ms(5));
        }
        assert_eq!(s.level_to_report(Some(1)), Some(10));
    }
}
