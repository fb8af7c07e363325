//! Speaking levels (`MicEnergyUpdate`, `CRVideo_GetMicEnergy`): 0–10 from the signal, and
//! the rule that a member's level is reported only when it changes, at most
//! [`MAX_PER_SECOND`] times a second.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Most level reports per member and second.
pub const MAX_PER_SECOND: u32 = 10;
/// Shortest time between two reports of one member.
const GAP: Duration = Duration::from_millis(1000 / MAX_PER_SECOND as u64);

/// Highest level.
pub const MAX_LEVEL: u8 = 10;
/// The RMS level (dBFS) that is level 0 and below; each level above is 6 dB more, so a
/// full-scale sine (-3 dBFS) is 10 and a tone of a quarter of full scale (-15 dBFS) is 8.
const FLOOR_DBFS: f64 = -64.0;
const DB_PER_LEVEL: f64 = 6.0;

/// The speaking level of `pcm`: its RMS in steps of 6 dB above -64 dBFS, 0–10 (digital
/// silence and anything quieter than about 1/1600 of full scale is 0).
pub fn level(pcm: &[i16]) -> u8 {
    if pcm.is_empty() {
        return 0;
    }
    let energy: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (energy / pcm.len() as f64).sqrt() / 32768.0;
    if rms <= 0.0 {
        return 0;
    }
    let dbfs = 20.0 * rms.log10();
    ((dbfs - FLOOR_DBFS) / DB_PER_LEVEL)
        .floor()
        .clamp(0.0, f64::from(MAX_LEVEL)) as u8
}

/// One member's reported level.
#[derive(Debug, Default)]
pub struct Reported {
    /// The level last reported (what GetMicEnergy answers).
    pub shown: u8,
    last: Option<Instant>,
}

impl Reported {
    /// The member's level is `level` at `now`: `Some((old, new))` to report, when it
    /// differs from the one shown and the last report is at least a tenth of a second old
    /// (otherwise a later offer reports it).
    pub fn offer(&mut self, level: u8, now: Instant) -> Option<(u8, u8)> {
        let level = level.min(MAX_LEVEL);
        if level == self.shown || self.last.is_some_and(|t| now.duration_since(t) < GAP) {
            return None;
        }
        let old = std::mem::replace(&mut self.shown, level);
        self.last = Some(now);
        Some((old, level))
    }
}

/// A level heard this long ago no longer counts (the member stopped sending): 0.
const HEARD_FOR: Duration = Duration::from_millis(200);

/// The levels of the members of a meeting (this user's too): the latest heard from their
/// audio, and the one reported.
#[derive(Default)]
pub struct Levels {
    heard: HashMap<String, (u8, Instant)>,
    reported: HashMap<String, Reported>,
}

impl Levels {
    /// `user_id`'s audio at `now` has `level`.
    pub fn heard(&mut self, user_id: &str, level: u8, now: Instant) {
        match self.heard.get_mut(user_id) {
            Some(heard) => *heard = (level, now),
            None => {
                self.heard.insert(user_id.to_owned(), (level, now));
            }
        }
    }

    /// The level last reported for `user_id` (0 for one not known).
    pub fn shown(&self, user_id: &str) -> u8 {
        self.reported.get(user_id).map_or(0, |r| r.shown)
    }

    /// The members whose reported level is above 0, with it.
    pub fn shown_levels(&self) -> Vec<(String, u8)> {
        (self.reported.iter())
            .filter(|(_, r)| r.shown > 0)
            .map(|(u, r)| (u.clone(), r.shown))
            .collect()
    }

    /// The members now are `members` (user ID, mic open): the reports to make,
    /// `(userID, old, new)`. A closed mic, or one not heard lately, is 0; members gone are
    /// forgotten.
    pub fn review(&mut self, members: &[(&str, bool)], now: Instant) -> Vec<(String, u8, u8)> {
        self.heard
            .retain(|u, _| members.iter().any(|(m, _)| m == u));
        self.reported
            .retain(|u, _| members.iter().any(|(m, _)| m == u));
        let mut reports = Vec::new();
        for &(user_id, open) in members {
            let heard = self.heard.get(user_id);
            let level = match heard {
                Some(&(level, at)) if open && now.saturating_duration_since(at) < HEARD_FOR => {
                    level
                }
                _ => 0,
            };
            if level == 0 && !self.reported.contains_key(user_id) {
                continue;
            }
            let reported = self.reported.entry(user_id.to_owned()).or_default();
            if let Some((old, new)) = reported.offer(level, now) {
                reports.push((user_id.to_owned(), old, new));
            }
        }
        reports
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::testing::tone;

    #[test]
    fn silence_is_zero_and_a_loud_tone_is_high() {
        assert_eq!(level(&[0; 320]), 0);
        assert_eq!(level(&[1; 320]), 0, "the least bit of noise");
        let loud = tone(&[(440.0, 16000.0)], 320);
        assert!(level(&loud) >= 8, "{}", level(&loud));
        let full = tone(&[(440.0, 32767.0)], 320);
        assert_eq!(level(&full), 10);
        let quiet = tone(&[(440.0, 100.0)], 320);
        assert!((1..=3).contains(&level(&quiet)), "{}", level(&quiet));
    }

    #[test]
    fn only_changes_and_at_most_ten_a_second() {
        let t0 = Instant::now();
        let mut r = Reported::default();
        assert_eq!(r.offer(0, t0), None, "no change");
        assert_eq!(r.offer(5, t0), Some((0, 5)));
        // Every 20 ms a different level for a second: 10 reports at most.
        let reports = (1..=50)
            .filter_map(|i| r.offer((i % 2) as u8 * 9, t0 + Duration::from_millis(20 * i)))
            .count();
        assert_eq!(reports, 10);
        // A change held back is reported by a later offer.
        let t1 = t0 + Duration::from_secs(5);
        assert!(r.offer(3, t1).is_some());
        assert_eq!(r.offer(4, t1 + Duration::from_millis(10)), None);
        assert_eq!(r.offer(4, t1 + GAP), Some((3, 4)));
        assert_eq!(r.shown, 4);
    }

    #[test]
    fn members_levels_follow_their_audio_and_their_mic() {
        let t0 = Instant::now();
        let mut levels = Levels::default();
        levels.heard("bob", 7, t0);
        levels.heard("eve", 3, t0);
        let members = [("bob", true), ("carol", true), ("eve", false)];
        assert_eq!(levels.review(&members, t0), vec![("bob".into(), 0, 7)]);
        assert_eq!(levels.shown("bob"), 7);
        // Not heard for a while: 0.
        let later = t0 + Duration::from_millis(300);
        assert_eq!(levels.review(&members, later), vec![("bob".into(), 7, 0)]);
        // A member gone is forgotten.
        levels.heard("bob", 5, later);
        assert!(levels.review(&[("carol", true)], later).is_empty());
        assert_eq!(levels.shown("bob"), 0);
    }
}
