//! One speaker's jitter buffer: its packets in order, decoded at the pace of whoever takes
//! the mix (the speaker clock, or the app's pulls).
//!
//! A talk-spurt starts playing when its first packet has waited [`DEPTH`] (the buffer's
//! nominal depth: arrival jitter up to that is absorbed), at that sample: the piece of the
//! mix it falls in begins with silence up to it. Taking the mix in larger pieces (the app
//! pulling 100 ms at a time, all at once) needs those packets at hand too: such a pull
//! starts a talk-spurt at one of its 10 ms pieces once the packets waiting cover the rest
//! of the pull (`lead`) and the depth.
//!
//! While playing, every 20 ms the next packet by sequence number is decoded. A missing one
//! is concealed by the decoder, up to [`MAX_CONCEALED`] in a row, after which the speaker
//! counts as silent until packets come again: a lost one (a later one is there) is skipped,
//! a late one (none is) is still expected and plays when it comes, the delay grown by what
//! was concealed. A packet at or before the last one played or skipped is dropped, so a
//! burst after a stall is not heard twice (one far before it means the sender counts anew,
//! a new SDK: a new stream). The delay never grows: a talk-spurt that starts with more than
//! the nominal depth waiting (a burst) drops the oldest, and while playing, when the fewest
//! packets waiting over half a second stayed above the nominal depth (the sender's clock
//! runs faster than ours) the surplus is dropped.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::codec::{Decoder, FRAME, RATE};

/// How long the first packet of a talk-spurt waits before it plays.
pub const DEPTH: Duration = Duration::from_millis(40);
/// Packets concealed in a row before the speaker counts as silent (60 ms).
const MAX_CONCEALED: u32 = 3;
/// Packets of the nominal depth.
const DEPTH_PACKETS: usize = (DEPTH.as_millis() / 20) as usize;
/// Packets taken between two looks at the surplus (0.5 s).
const WINDOW: u32 = 25;
/// A packet up to this many before the last one played is a late one; further before, the
/// sender counts anew (1 s).
const MAX_LATE: u32 = 50;
/// Packets waiting at most, whatever the lead (5 s): a bound on memory.
const MAX_WAITING: usize = 250;

pub struct JitterBuffer {
    decoder: Decoder,
    /// Waiting packets by sequence number, with their arrival.
    packets: BTreeMap<u32, (Bytes, Instant)>,
    /// The sequence number to play next, while playing.
    next: Option<u32>,
    /// The last packet played or skipped, kept between talk-spurts.
    last: Option<u32>,
    /// The packet being played, and how many of its samples were taken.
    current: [i16; FRAME],
    taken: usize,
    /// Samples of silence before `current` (a talk-spurt starting within a piece).
    pad: usize,
    concealed: u32,
    /// The fewest packets waiting after a take, and the takes, in this window.
    fewest: usize,
    takes: u32,
}

/// What taking the next packet did.
#[derive(PartialEq, Eq)]
enum Step {
    Took,
    /// Concealed a lost packet.
    Lost,
    /// Concealed a late packet, still expected.
    Waited,
}

/// Samples of `d` at 16 kHz.
fn samples_of(d: Duration) -> usize {
    (d.as_micros() * RATE as u128 / 1_000_000) as usize
}

/// The length of `n` samples at 16 kHz.
fn duration_of(n: usize) -> Duration {
    Duration::from_micros((n * 1_000_000 / RATE) as u64)
}

impl JitterBuffer {
    pub fn new() -> Result<JitterBuffer, String> {
        Ok(JitterBuffer {
            decoder: Decoder::new()?,
            packets: BTreeMap::new(),
            next: None,
            last: None,
            current: [0; FRAME],
            taken: FRAME,
            pad: 0,
            concealed: 0,
            fewest: usize::MAX,
            takes: 0,
        })
    }

    /// A packet arrived at `now`.
    pub fn push(&mut self, seq: u32, packet: Bytes, now: Instant) {
        if let Some(last) = self.last {
            // How far `seq` is before the last one played (0: it is that one; wrapping: a
            // later one is "before" by almost 2^32).
            let before = last.wrapping_sub(seq);
            if before <= MAX_LATE {
                return; // played or concealed already
            }
            if before < u32::MAX / 2 {
                // The sender counts anew: what is here belongs to its old stream.
                self.packets.clear();
                self.next = None;
                self.last = None;
            }
        }
        self.packets.insert(seq, (packet, now));
        while self.packets.len() > MAX_WAITING {
            self.packets.pop_first();
        }
    }

    /// Adds this speaker's next `out.len()` samples (at most a packet's) to `out`, the
    /// first of them due at `now`; `lead` is how much further the caller takes before it
    /// comes again (see the module's notes). False when it is silent (nothing was added).
    pub fn mix_into(&mut self, out: &mut [i32], now: Instant, lead: Duration) -> bool {
        debug_assert!(out.len() <= FRAME);
        let mut filled = 0;
        let mut heard = false;
        while filled < out.len() {
            if self.pad == 0 && self.taken == FRAME {
                let at = now + duration_of(filled);
                if !self.next_packet(at, out.len() - filled, lead) {
                    return heard;
                }
            }
            if self.pad > 0 {
                let n = self.pad.min(out.len() - filled);
                self.pad -= n;
                filled += n;
                continue;
            }
            let n = (out.len() - filled).min(FRAME - self.taken);
            let samples = &self.current[self.taken..self.taken + n];
            for (o, &s) in out[filled..filled + n].iter_mut().zip(samples) {
                *o += i32::from(s);
            }
            self.taken += n;
            filled += n;
            heard = true;
        }
        heard
    }

    /// Decodes the next packet (or conceals it) into `current`, at `at` with `room` samples
    /// left in the piece; false when silent.
    fn next_packet(&mut self, at: Instant, room: usize, lead: Duration) -> bool {
        let next = match self.next {
            Some(next) => next,
            None => match self.start(at, room, lead) {
                Some(first) => first,
                None => return false,
            },
        };
        let step = match self.packets.remove(&next) {
            Some((packet, _)) => {
                self.decoder.decode(Some(&packet), &mut self.current);
                self.concealed = 0;
                Step::Took
            }
            None if self.concealed >= MAX_CONCEALED => {
                self.next = None;
                return false;
            }
            None => {
                self.decoder.decode(None, &mut self.current);
                self.concealed += 1;
                // Lost (a later one is here): skipped. Late (none is): it may still come,
                // and plays when it does; the delay grew by what was concealed.
                match self.packets.range(next..).next() {
                    Some(_) => Step::Lost,
                    None => Step::Waited,
                }
            }
        };
        if step != Step::Waited {
            self.last = Some(next);
            self.next = Some(next.wrapping_add(1));
        }
        self.taken = 0;
        if step == Step::Took {
            self.note_waiting();
        }
        true
    }

    /// Starts a talk-spurt if its first packet is due within the `room` samples from `at`:
    /// the sequence number to play first (the silence before it in `pad`).
    fn start(&mut self, at: Instant, room: usize, lead: Duration) -> Option<u32> {
        let (_, (_, arrived)) = self.packets.first_key_value()?;
        if lead.is_zero() {
            let due = *arrived + DEPTH;
            if due >= at + duration_of(room) {
                return None;
            }
            self.pad = samples_of(due.saturating_duration_since(at)).min(room - 1);
        } else {
            // Pulled in larger pieces, all at once: start at a piece when what waits covers
            // the rest of the pull and the depth.
            let waiting = duration_of(self.packets.len() * FRAME);
            if waiting < DEPTH + lead + duration_of(room) {
                return None;
            }
        }
        // A burst (after a stall) waited longer than the depth: only the depth is kept.
        let keep = DEPTH_PACKETS + 1 + (lead.as_millis() / 20) as usize;
        while self.packets.len() > keep {
            self.packets.pop_first();
        }
        self.concealed = 0;
        (self.fewest, self.takes) = (usize::MAX, 0);
        self.packets.first_key_value().map(|(&first, _)| first)
    }

    /// After a packet was taken: over each half second, if even the fewest waiting were
    /// more than the nominal depth, the surplus goes.
    fn note_waiting(&mut self) {
        self.fewest = self.fewest.min(self.packets.len());
        self.takes += 1;
        if self.takes < WINDOW {
            return;
        }
        // One more than the depth is let be: pulls or arrivals near a packet's time make
        // the count waver by one.
        for _ in DEPTH_PACKETS + 1..self.fewest {
            if let Some((seq, _)) = self.packets.pop_first() {
                self.last = Some(seq);
                self.next = Some(seq.wrapping_add(1));
            }
        }
        (self.fewest, self.takes) = (usize::MAX, 0);
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
            jb.mix_into(&mut chunk, now, Duration::ZERO);
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

    /// Runs [`play`] and returns the packets waiting after each tick too.
    fn play_watching(
        packets: &[Bytes],
        ticks: usize,
        arrival: impl Fn(usize) -> Option<Duration>,
    ) -> (Vec<i32>, Vec<usize>) {
        let mut jb = JitterBuffer::new().unwrap();
        let t0 = Instant::now();
        let (mut out, mut waiting) = (Vec::new(), Vec::new());
        for tick in 0..ticks {
            let piece = play_from(&mut jb, packets, t0, tick, &arrival);
            out.extend_from_slice(&piece);
            waiting.push(jb.waiting());
        }
        (out, waiting)
    }

    /// One tick of [`play`]: the packets due by then given, 10 ms taken.
    fn play_from(
        jb: &mut JitterBuffer,
        packets: &[Bytes],
        t0: Instant,
        tick: usize,
        arrival: &impl Fn(usize) -> Option<Duration>,
    ) -> [i32; 160] {
        let now = t0 + Duration::from_millis(10 * tick as u64);
        let before = now.checked_sub(Duration::from_millis(10));
        for (i, p) in packets.iter().enumerate() {
            if let Some(at) = arrival(i) {
                let at = t0 + at;
                if at <= now && before.is_none_or(|b| at > b) {
                    jb.push(i as u32, p.clone(), at);
                }
            }
        }
        let mut chunk = [0i32; 160];
        jb.mix_into(&mut chunk, now, Duration::ZERO);
        chunk
    }

    #[test]
    fn a_talk_spurt_starts_at_its_sample_not_at_the_next_piece() {
        let packets = packets(1);
        // Packet 0 at 15 ms: due at 55 ms, halfway into the piece from 50 ms.
        let (out, _) = play_watching(&packets, 20, |i| {
            Some(Duration::from_millis(15 + 20 * i as u64))
        });
        assert!(
            out[..5 * 160 + 80].iter().all(|&s| s == 0),
            "silent until 55 ms"
        );
        assert!(
            out[5 * 160 + 80..7 * 160].iter().any(|&s| s != 0),
            "then the tone"
        );
    }

    #[test]
    fn a_stall_neither_repeats_audio_nor_grows_the_delay() {
        let packets = packets(3);
        // Packets 50..65 (300 ms) are held back and come at once at 1.3 s.
        let (out, waiting) = play_watching(&packets, 300, |i| {
            let on_time = 20 * i as u64;
            Some(Duration::from_millis(match i {
                50..65 => 1300,
                _ => on_time,
            }))
        });
        // From 1.5 s on, no more than the depth and the packet arriving are waiting.
        let most = waiting[150..].iter().max().unwrap();
        assert!(*most <= DEPTH_PACKETS + 1, "{most} waiting: the delay grew");
        // And the tone is back.
        let tail: Vec<i16> = out[out.len() - 8000..].iter().map(|&s| s as i16).collect();
        assert!(goertzel(&tail, 440.0, 16000) > 6000.0);
    }

    #[test]
    fn a_sender_with_a_fast_clock_never_grows_the_delay() {
        let packets = packets(6);
        // A packet every 19 ms: 5 % fast, one packet more every 380 ms.
        let (_, waiting) = play_watching(&packets, 560, |i| {
            Some(Duration::from_micros(19_000 * i as u64))
        });
        // Untrimmed, one more would wait every 380 ms: 8 more from 3 s to 5.6 s.
        let most = *waiting[300..].iter().max().unwrap();
        assert!(most <= DEPTH_PACKETS + 5, "{most} waiting");
        let mean = |t: &[usize]| t.iter().sum::<usize>() as f64 / t.len() as f64;
        let (before, after) = (mean(&waiting[300..430]), mean(&waiting[430..]));
        assert!(after < before + 0.5, "growing: {before:.2} then {after:.2}");
    }

    #[test]
    fn pulled_in_large_pieces_the_stream_stays_whole() {
        let packets = packets(5);
        let mut jb = JitterBuffer::new().unwrap();
        let t0 = Instant::now();
        let (mut out, mut given, mut at) = (Vec::new(), 0, Duration::ZERO);
        // 1 s pulled 20 ms at a time, then 100 ms at a time; packets come every 20 ms,
        // 0-2 ms late, close to the pulls' times.
        while at < Duration::from_millis(4500) {
            let pull = if at < Duration::from_secs(1) { 2 } else { 10 };
            let now = t0 + at;
            while given < packets.len() {
                let late = (given as u64 * 7919) % 3;
                let arrival = t0 + Duration::from_millis(20 * given as u64 + late);
                if arrival > now {
                    break;
                }
                jb.push(given as u32, packets[given].clone(), arrival);
                given += 1;
            }
            let lead = Duration::from_millis(10 * (pull - 1));
            for _ in 0..pull {
                let mut chunk = [0i32; 160];
                jb.mix_into(&mut chunk, now, lead);
                out.extend_from_slice(&chunk);
            }
            at += Duration::from_millis(10 * pull);
        }
        // From 2 s on: every 20 ms has the tone.
        let silent = (out[32_000..].chunks(320))
            .filter(|block| block.iter().all(|s| s.abs() < 1000))
            .count();
        assert_eq!(silent, 0, "silent 20 ms blocks");
        let tail: Vec<i16> = out[32_000..].iter().map(|&s| s as i16).collect();
        assert!(goertzel(&tail, 440.0, 16000) > 7500.0);
    }

    #[test]
    fn a_late_packet_is_refused_and_memory_is_bounded() {
        let packets = packets(1);
        let mut jb = JitterBuffer::new().unwrap();
        let t0 = Instant::now();
        for tick in 0..20 {
            play_from(&mut jb, &packets, t0, tick, &|i| {
                Some(Duration::from_millis(20 * i as u64))
            });
        }
        let before = jb.waiting();
        let last = jb.last.unwrap();
        jb.push(last, packets[0].clone(), t0 + Duration::from_secs(1));
        jb.push(last - 1, packets[0].clone(), t0 + Duration::from_secs(1));
        assert_eq!(jb.waiting(), before, "played already: refused");
        assert!(!jb.packets.contains_key(&last) && jb.next == Some(last + 1));
        for seq in 0..1000 {
            jb.push(
                last + 1 + seq,
                packets[0].clone(),
                t0 + Duration::from_secs(1),
            );
        }
        assert_eq!(jb.waiting(), MAX_WAITING);
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
            jb.mix_into(&mut chunk, now, Duration::ZERO);
            out.extend_from_slice(&chunk);
        }
        // Its first packets are refused as late, the speaker falls silent, and the new
        // stream starts: the last second is the tone, not silence.
        let tail: Vec<i16> = out[out.len() - 8000..].iter().map(|&s| s as i16).collect();
        assert!(goertzel(&tail, 440.0, 16000) > 6000.0);
    }
}
