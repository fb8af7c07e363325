//! The speaker mix: the other members' audio summed, then brought back into 16 bits by a
//! limiter rather than clipped.
//!
//! Two members talking loudly at once sum past full scale. Hard clipping would turn that
//! into harsh distortion; instead the gain goes down to what the loudest sample of the 10 ms
//! needs, faded from the piece's start to the first sample that would clip (a step only
//! when that is the first sample: there is no look-ahead, which would cost 10 ms), and
//! recovers over about a tenth of a second.

use super::jitter::JitterBuffer;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Samples the speaker clock produces at a time (10 ms).
pub const TICK: usize = 160;
/// The share of the way back to unity gain the limiter goes each tick (≈ 100 ms release).
const RELEASE: f32 = 0.1;

/// Whose sound a jitter buffer holds: a member's microphone, or the media it plays.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpeakerKey {
    pub user_id: String,
    pub media: bool,
}

/// The remote members' jitter buffers and the limiter's state.
pub struct Mixer {
    pub speakers: HashMap<SpeakerKey, JitterBuffer>,
    gain: f32,
}

impl Default for Mixer {
    fn default() -> Mixer {
        Mixer {
            speakers: HashMap::new(),
            gain: 1.0,
        }
    }
}

impl Mixer {
    /// The next 10 ms of the mix, its first sample due at `now`; `lead`: how much further
    /// the caller takes before it comes again (see `jitter`).
    pub fn tick(&mut self, now: Instant, lead: Duration) -> [i16; TICK] {
        let mut sum = [0i32; TICK];
        for jb in self.speakers.values_mut() {
            jb.mix_into(&mut sum, now, lead);
        }
        self.limit(&sum)
    }

    /// `sum` in 16 bits, its gain limited so that no sample clips.
    fn limit(&mut self, sum: &[i32; TICK]) -> [i16; TICK] {
        let peak = sum.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        let needed = if peak > 32767 {
            32767.0 / peak as f32
        } else {
            1.0
        };
        let from = self.gain;
        let target = if needed < from {
            needed
        } else {
            (from + (1.0 - from) * RELEASE).min(needed)
        };
        self.gain = target;
        // Going down, the gain reaches the target at the first sample that would clip at
        // the old gain (everything before it fits as it fades); going up, over the piece.
        let clips = |s: &i32| s.unsigned_abs() as f32 * from > 32767.0;
        let ramp_len = match target < from {
            true => sum.iter().position(clips).map_or(TICK, |at| at + 1),
            false => TICK,
        };
        let mut out = [0i16; TICK];
        for (i, (o, &s)) in out.iter_mut().zip(sum).enumerate() {
            let along = ((i + 1) as f32 / ramp_len as f32).min(1.0);
            let gain = from + (target - from) * along;
            *o = (s as f32 * gain).round().clamp(-32768.0, 32767.0) as i16;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_sums_pass_unchanged_and_loud_ones_are_limited_not_clipped() {
        let mut mixer = Mixer::default();
        let quiet: [i32; TICK] = std::array::from_fn(|i| (i as i32 - 80) * 100);
        let out = mixer.tick_of(&quiet);
        assert!(out.iter().zip(&quiet).all(|(&o, &s)| i32::from(o) == s));
        // Twice full scale: scaled down, its shape kept (no flat tops).
        let loud: [i32; TICK] = std::array::from_fn(|i| if i % 2 == 0 { 60000 } else { -30000 });
        let out = mixer.tick_of(&loud);
        assert_eq!(out.iter().map(|o| o.unsigned_abs()).max(), Some(32767));
        assert!(
            (out[0] as f32 / out[1] as f32 + 2.0).abs() < 0.01,
            "ratio kept"
        );
        // A peak late in the piece is faded into, not stepped.
        let mut mixer = Mixer::default();
        let late: [i32; TICK] = std::array::from_fn(|i| if i == 120 { 50000 } else { 20000 });
        let out = mixer.tick_of(&late);
        assert!(
            (19_900..20_000).contains(&out[0]),
            "hardly down at the start"
        );
        assert!(out.windows(2).take(119).all(|w| w[1] <= w[0]), "fading");
        assert_eq!(out[120], 32767);
        assert!(
            (13_000..13_200).contains(&out[121]),
            "held at the peak's gain after it"
        );
        // The gain comes back gradually.
        let after = mixer.tick_of(&quiet);
        assert!(i32::from(after[TICK - 1]) < quiet[TICK - 1]);
        for _ in 0..150 {
            mixer.tick_of(&quiet);
        }
        assert_eq!(mixer.tick_of(&quiet)[TICK - 1] as i32, quiet[TICK - 1]);
    }

    impl Mixer {
        fn tick_of(&mut self, sum: &[i32; TICK]) -> [i16; TICK] {
            self.limit(sum)
        }
    }
}
