//! The speaker mix: the other members' audio summed, then brought back into 16 bits by a
//! limiter rather than clipped.
//!
//! Two members talking loudly at once sum past full scale. Hard clipping would turn that
//! into harsh distortion; instead the gain drops at once to what the loudest sample of the
//! 10 ms needs (ramped across it, so no click) and recovers over about a tenth of a second.

use super::jitter::JitterBuffer;
use std::collections::HashMap;
use std::time::Instant;

/// Samples the speaker clock produces at a time (10 ms).
pub const TICK: usize = 160;
/// The share of the way back to unity gain the limiter goes each tick (≈ 100 ms release).
const RELEASE: f32 = 0.1;

/// The remote members' jitter buffers and the limiter's state.
pub struct Mixer {
    pub speakers: HashMap<String, JitterBuffer>,
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
    /// The next 10 ms of the mix at the clock's time `now`.
    pub fn tick(&mut self, now: Instant) -> [i16; TICK] {
        let mut sum = [0i32; TICK];
        for jb in self.speakers.values_mut() {
            jb.mix_into(&mut sum, now);
        }
        self.limit(&sum)
    }

    /// When the clock should take its next tick to start a talk-spurt on time: while
    /// nobody plays, the earliest start of a waiting one (see [`JitterBuffer::start_at`]).
    pub fn start_at(&self) -> Option<Instant> {
        if self.speakers.values().any(JitterBuffer::playing) {
            return None;
        }
        self.speakers
            .values()
            .filter_map(JitterBuffer::start_at)
            .min()
    }

    /// `sum` in 16 bits, its gain limited so that no sample clips.
    fn limit(&mut self, sum: &[i32; TICK]) -> [i16; TICK] {
        let peak = sum.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0) as f32;
        let needed = if peak > 32767.0 { 32767.0 / peak } else { 1.0 };
        let target = if needed < self.gain {
            needed
        } else {
            self.gain + (1.0 - self.gain) * RELEASE
        };
        let target = target.min(needed);
        let from = self.gain;
        self.gain = target;
        let mut out = [0i16; TICK];
        for (i, (o, &s)) in out.iter_mut().zip(sum).enumerate() {
            // From the previous gain to the new one across the tick; never above what
            // this tick's peak allows, so nothing clips.
            let ramp = from + (target - from) * (i + 1) as f32 / TICK as f32;
            let gain = ramp.min(needed);
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
