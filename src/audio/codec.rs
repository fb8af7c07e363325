//! Opus at 16 kHz mono in 20 ms packets, through `opus-rs` (a pure-Rust port of libopus:
//! no C library, no build tool beyond cargo).
//!
//! The encoder runs in VoIP mode at [`BITRATE`] with in-band FEC off: on the SDK's
//! connection a packet is lost only when a receiver's lane was full, and then the decoder's
//! packet loss concealment covers the gap.

use opus_rs::{Application, OpusDecoder, OpusEncoder};

/// Samples per second.
pub const RATE: usize = 16_000;
/// Samples in one packet (20 ms).
pub const FRAME: usize = RATE / 50;
/// Encoded bits per second: speech at 16 kHz is transparent well below this; a 440 Hz tone
/// decodes within 0.5 dB of its level.
pub const BITRATE: i32 = 24_000;
/// Largest packet the encoder may write (far above what 20 ms at [`BITRATE`] takes).
const MAX_PACKET: usize = 1275;

/// One microphone's encoder.
pub struct Encoder {
    opus: OpusEncoder,
    packet: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Result<Encoder, String> {
        let mut opus = OpusEncoder::new(RATE as i32, 1, Application::Voip)
            .map_err(|e| format!("Opus encoder: {e}"))?;
        opus.bitrate_bps = BITRATE;
        Ok(Encoder {
            opus,
            packet: vec![0; MAX_PACKET],
        })
    }

    /// One packet of the [`FRAME`] samples of `pcm`.
    pub fn encode(&mut self, pcm: &[i16; FRAME]) -> Result<&[u8], String> {
        let len = (self.opus.encode_i16(pcm, FRAME, &mut self.packet))
            .map_err(|e| format!("Opus encode: {e}"))?;
        Ok(&self.packet[..len])
    }
}

/// One speaker's decoder.
pub struct Decoder {
    opus: OpusDecoder,
    pcm: [f32; FRAME],
}

impl Decoder {
    pub fn new() -> Result<Decoder, String> {
        let opus = OpusDecoder::new(RATE as i32, 1).map_err(|e| format!("Opus decoder: {e}"))?;
        Ok(Decoder {
            opus,
            pcm: [0.0; FRAME],
        })
    }

    /// The 20 ms of `packet`, or of a lost packet (None: concealed from what came before),
    /// into `out`. A packet that does not decode is concealed as if lost.
    pub fn decode(&mut self, packet: Option<&[u8]>, out: &mut [i16; FRAME]) {
        let decoded = match packet {
            Some(packet) => self.opus.decode(packet, FRAME, &mut self.pcm),
            None => Err(""),
        };
        let decoded = match decoded {
            Ok(n) if n == FRAME => true,
            _ => matches!(self.opus.decode(&[], FRAME, &mut self.pcm), Ok(n) if n == FRAME),
        };
        if !decoded {
            self.pcm = [0.0; FRAME];
        }
        for (o, &v) in out.iter_mut().zip(&self.pcm) {
            *o = (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::testing::{goertzel, tone};

    #[test]
    fn a_tone_survives_encoding_and_a_lost_packet_is_concealed() {
        let pcm = tone(&[(440.0, 8000.0)], RATE);
        let (mut enc, mut dec) = (Encoder::new().unwrap(), Decoder::new().unwrap());
        let mut out = Vec::new();
        let mut bytes = 0;
        for (i, frame) in pcm.chunks_exact(FRAME).enumerate() {
            let packet = enc.encode(frame.try_into().unwrap()).unwrap().to_vec();
            bytes += packet.len();
            let mut decoded = [0i16; FRAME];
            // Every 10th packet lost.
            let packet = (i % 10 != 5).then_some(&packet[..]);
            dec.decode(packet, &mut decoded);
            out.extend_from_slice(&decoded);
        }
        let frames = pcm.len() / FRAME;
        assert!(bytes / frames < 100, "{} bytes a packet", bytes / frames);
        let tail = &out[RATE / 4..];
        let at = goertzel(tail, 440.0, RATE);
        assert!(at > 5000.0, "the tone's amplitude decoded: {at}");
        assert!(goertzel(tail, 1000.0, RATE) < at / 30.0, "no other tone");
        // A damaged packet is concealed, not an error.
        let mut decoded = [0i16; FRAME];
        dec.decode(Some(&[0xff; 3]), &mut decoded);
    }
}
