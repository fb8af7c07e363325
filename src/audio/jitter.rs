//! One speaker's jitter buffer: its packets in order, decoded at the speaker clock's pace.
//!
//! A talk-spurt starts playing once its first packet has waited [`DEPTH`] (the buffer's
//! nominal depth: arrival jitter up to that is absorbed). While playing, every 20 ms the
//! next packet by sequence number is decoded; a missing one (lost: a later one is there) or
//! a late one (nothing there) is concealed by the decoder, up to [`MAX_CONCEALED`] in a row,
//! after which the speaker counts as silent until packets come again. A packet older than
//! the one playing is dropped (so a sender that counts anew, a new SDK, is heard again
//! after about 100 ms: concealment runs out, then a new talk-spurt starts), and when more than [`MAX_AHEAD`] is waiting (the sender's
//! clock runs faster than ours, or a burst after a stall) the oldest are dropped down to
//! the nominal depth, so the delay never grows.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::codec::{Decoder, FRAME};

/// How long the first packet of a talk-spurt waits before it plays.
pub const DEPTH: Duration = Duration::from_millis(40);
/// Packets the buffer may hold beyond what plays next before old ones are dropped (200 ms).
const MAX_AHEAD: usize = 10;
/// Packets concealed in a row before the speaker counts as silent (60 ms).
const MAX_CONCEALED: u32 = 3;
/// Packets of the nominal depth.
const DEPTH_PACKETS: usize = (DEPTH.as_millis() / 20) as usize;

pub struct JitterBuffer {
    decoder: Decoder,
    /// Waiting packets by sequence number, with their arrival.
    packets: BTreeMap<u32, (Bytes, Instant)>,
    /// The sequence number to play next, while playing.
    next: Option<u32>,
    /// The packet being played, and how many of its samples were taken.
    current: [i16; FRAME],
    taken: usize,
    concealed: u32,
}

impl JitterBuffer {
    pub fn new() -> Result<JitterBuffer, String> {
        Ok(JitterBuffer {
            decoder: Decoder::new()?,
            packets: BTreeMap::new(),
            next: None,
            current: [0; FRAME],
            taken: FRAME,
            concealed: 0,
        })
    }

    /// A packet arrived at `now`.
    pub fn push(&mut self, seq: u32, packet: Bytes, now: Instant) {
        if self.next.is_some_and(|next| seq < next) {
            return; // too late: it was concealed already
        }
        self.packets.insert(seq, (packet, now));
        if self.packets.len() > DEPTH_PACKETS + MAX_AHEAD {
            while self.packets.len() > DEPTH_PACKETS {
                self.packets.pop_first();
            }
            if let (Some(next), Some((&first, _))) = (self.next, self.packets.first_key_value()) {
                self.next = Some(next.max(first));
            }
        }
    }

    /// When this speaker's next talk-spurt starts playing: the arrival of its oldest packet
    /// plus the nominal depth; None while it plays or has nothing.
    pub fn start_at(&self) -> Option<Instant> {
        if self.next.is_some() {
            return None;
        }
        let (_, (_, arrived)) = self.packets.first_key_value()?;
        Some(*arrived + DEPTH)
    }

    /// Whether a talk-spurt is playing.
    pub fn playing(&self) -> bool {
        self.next.is_some()
    }

    /// Adds this speaker's next `out.len()` samples (at most a packet's) to `out`, at the
    /// clock's time `now`. False when it is silent (nothing was added).
    pub fn mix_into(&mut self, out: &mut [i32], now: Instant) -> bool {
        debug_assert!(out.len() <= FRAME);
        let mut filled = 0;
        while filled < out.len() {
            if self.taken == FRAME && !self.next_packet(now) {
                return filled > 0;
            }
            let n = (out.len() - filled).min(FRAME - self.taken);
            let samples = &self.current[self.taken..self.taken + n];
            for (o, &s) in out[filled..filled + n].iter_mut().zip(samples) {
                *o += i32::from(s);
            }
            self.taken += n;
            filled += n;
        }
        true
    }

    /// Decodes the next packet (or conceals it) into `current`; false when silent.
    fn next_packet(&mut self, now: Instant) -> bool {
        let next = match self.next {
            Some(next) => next,
            None => {
                // Start when the oldest packet has waited the nominal depth.
                let Some((&first, (_, arrived))) = self.packets.first_key_value() else {
                    return false;
                };
                if now.duration_since(*arrived) < DEPTH {
                    return false;
                }
                self.concealed = 0;
                first
            }
        };
        match self.packets.remove(&next) {
            Some((packet, _)) => {
                self.decoder.decode(Some(&packet), &mut self.current);
                self.concealed = 0;
            }
            None if self.concealed < MAX_CONCEALED => {
                self.decoder.decode(None, &mut self.current);
                self.concealed += 1;
            }
            None => {
                self.next = None;
                return false;
            }
        }
        self.next = Some(next.wrapping_add(1));
        self.taken = 0;
        true
    }

    /// Packets waiting (for the tests).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.packets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::codec::Encoder;
    use crate::audio::testing::{goertzel, tone};

    fn packets(seconds: usize) -> Vec<Bytes> {
        let pcm = tone(&[(440.0, 8000.0)], 16000 * seconds);
        let mut enc = Encoder::new().unwrap();
        (pcm.chunks_exact(FRAME))
            .map(|f| Bytes::copy_from_slice(enc.encode(f.try_into().unwrap()).unwrap()))
            .collect()
    }

    /// Runs the clock in 10 ms ticks from `t0` for `ticks`, giving packet `i` at
    /// `arrival(i)`; the samples played.
    fn play(
        jb: &mut JitterBuffer,
        packets: &[Bytes],
        t0: Instant,
        ticks: usize,
        arrival: impl Fn(usize) -> Option<Duration>,
    ) -> Vec<i32> {
        let mut out = Vec::new();
        let mut given = vec![false; packets.len()];
        for tick in 0..ticks {
            let now = t0 + Duration::from_millis(10 * tick as u64);
            for (i, p) in packets.iter().enumerate() {
                if let Some(at) = arrival(i) {
                    if !given[i] && t0 + at <= now {
                        jb.push(i as u32, p.clone(), t0 + at);
                        given[i] = true;
                    }
                }
            }
            let mut chunk = [0i32; 160];
            jb.mix_into(&mut chunk, now);
            out.extend_from_slice(&chunk);
        }
        out
    }

    #[test]
    fn plays_after_the_nominal_depth_and_in_order() {
        let packets = packets(1);
        let mut jb = JitterBuffer::new().unwrap();
        let t0 = Instant::now();
        // Packets arrive in pairs every 40 ms, out of order: the odd one first.
        let out = play(&mut jb, &packets, t0, 110, |i| {
            let pair = 40 * (i as u64 / 2);
            Some(Duration::from_millis(pair + 10 * (1 - i as u64 % 2)))
        });
        // Packet 0 came at 10 ms: 40 ms later it plays.
        assert!(out[..5 * 160].iter().all(|&s| s == 0), "silent first");
        assert!(
            out[5 * 160..6 * 160].iter().any(|&s| s != 0),
            "then the tone"
        );
        let played: Vec<i16> = (out[5 * 160 + 640..5 * 160 + 16000].iter())
            .map(|&s| s as i16)
            .collect();
        assert!(goertzel(&played, 440.0, 16000) > 6000.0);
    }

    #[test]
    fn losses_are_concealed_and_a_long_gap_is_silence() {
        let packets = packets(2);
        let mut jb = JitterBuffer::new().unwrap();
        let t0 = Instant::now();
        // Packet 20 lost; 40..=59 (400 ms) never come.
        let out = play(&mut jb, &packets, t0, 200, |i| {
            (i != 20 && !(40..60).contains(&i)).then(|| Duration::from_millis(20 * i as u64))
        });
        // The lost packet: its 20 ms are concealed, not silent.
        let lost = &out[(20 * 320 + 640)..(21 * 320 + 640)];
        assert!(lost.iter().any(|&s| s.abs() > 1000), "concealed");
        // The long gap: silence after at most 60 ms of concealment.
        let gap = &out[(44 * 320 + 640)..(58 * 320 + 640)];
        assert!(gap.iter().all(|&s| s == 0), "silent in the gap");
        assert!(
            out[out.len() - 1600..].iter().any(|&s| s.abs() > 1000),
            "back"
        );
    }

    #[test]
    fn a_burst_never_grows_the_delay() {
        let packets = packets(2);
        let mut jb = JitterBuffer::new().unwrap();
        let t0 = Instant::now();
        // A stall: packets 0..50 all arrive at once at 1 s, then on time.
        play(&mut jb, &packets, t0, 110, |i| {
            Some(Duration::from_millis((20 * i as u64).max(1000)))
        });
        assert!(
            jb.waiting() <= DEPTH_PACKETS + MAX_AHEAD,
            "{}",
            jb.waiting()
        );
        // A packet just before the one playing is late: refused.
        let before = jb.waiting();
        let next = jb.next.unwrap();
        jb.push(next - 1, packets[0].clone(), t0 + Duration::from_secs(2));
        assert_eq!(jb.waiting(), before);
    }

    #[test]
    fn a_sender_counting_anew_is_a_new_stream() {
        let packets = packets(2);
        let mut jb = JitterBuffer::new().unwrap();
        let t0 = Instant::now();
        // Packets 0..50 as seq 1000.., then the sender restarts at 0.
        let mut out = Vec::new();
        for tick in 0..200u64 {
            let now = t0 + Duration::from_millis(10 * tick);
            if tick % 2 == 0 {
                let i = (tick / 2) as usize;
                let seq = if i < 50 {
                    1000 + i as u32
                } else {
                    (i - 50) as u32
                };
                jb.push(seq, packets[i].clone(), now);
            }
            let mut chunk = [0i32; 160];
            jb.mix_into(&mut chunk, now);
            out.extend_from_slice(&chunk);
        }
        // Its first packets are refused as late, the speaker falls silent, and the new
        // stream starts: the last second is the tone, not silence.
        let tail: Vec<i16> = out[out.len() - 8000..].iter().map(|&s| s as i16).collect();
        assert!(goertzel(&tail, 440.0, 16000) > 6000.0);
    }
}
