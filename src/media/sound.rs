//! The media's sound as the meeting hears it: the file's Opus packets (any frame length,
//! mono or stereo, any rate) decoded to 16 kHz mono and cut into the 20 ms packets every
//! member's speaker mix takes, the same as a microphone's.

use opus_rs::OpusDecoder;

use crate::audio::codec::{Encoder, FRAME, RATE};

/// The most samples one Opus packet holds (120 ms) at [`RATE`].
const MAX_PACKET_SAMPLES: usize = RATE * 120 / 1000;

pub struct Transcoder {
    decoder: OpusDecoder,
    encoder: Encoder,
    decoded: Vec<f32>,
    /// Samples decoded and not yet a whole packet.
    pending: Vec<i16>,
    /// Samples still to drop at the start (the encoder's look-ahead, `pre_skip`).
    skip: usize,
}

impl Transcoder {
    /// For a track whose `dOps` says `pre_skip` (samples at 48 kHz).
    pub fn new(pre_skip: u16) -> Result<Transcoder, String> {
        let decoder = OpusDecoder::new(RATE as i32, 1).map_err(|e| format!("Opus decoder: {e}"))?;
        Ok(Transcoder {
            decoder,
            encoder: Encoder::new()?,
            decoded: vec![0.0; MAX_PACKET_SAMPLES],
            pending: Vec::new(),
            skip: pre_skip as usize * RATE / 48_000,
        })
    }

    /// Decodes one of the file's packets and hands each whole 20 ms packet it completes to
    /// `out`. A packet that does not decode is skipped (logged).
    pub fn packet(&mut self, sample: &[u8], mut out: impl FnMut(&[u8])) {
        let n = match (self.decoder).decode(sample, MAX_PACKET_SAMPLES, &mut self.decoded) {
            Ok(n) => n,
            Err(e) => return tracing::debug!("media sound: {e}"),
        };
        let decoded = &self.decoded[..n.min(self.decoded.len())];
        let skipped = self.skip.min(decoded.len());
        self.skip -= skipped;
        (self.pending).extend(
            decoded[skipped..]
                .iter()
                .map(|&v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16),
        );
        let mut at = 0;
        while self.pending.len() - at >= FRAME {
            let frame: &[i16; FRAME] = self.pending[at..at + FRAME].try_into().expect("FRAME");
            at += FRAME;
            match self.encoder.encode(frame) {
                Ok(packet) => out(packet),
                Err(e) => tracing::debug!("media sound: {e}"),
            }
        }
        self.pending.drain(..at);
    }
}
