//! 16 kHz 16-bit mono WAV files and tones, for the audio tests: what the SDK writes is
//! checked field by field, and what the tests feed it is written the standard way.

use std::path::Path;

pub const RATE: usize = 16_000;

/// `len` samples of a sine of `freq` Hz and amplitude `amp`.
pub fn sine(freq: f64, amp: f64, len: usize) -> Vec<i16> {
    (0..len)
        .map(|n| {
            let phase = 2.0 * std::f64::consts::PI * freq * n as f64 / RATE as f64;
            (amp * phase.sin()).round() as i16
        })
        .collect()
}

/// Writes `pcm` as a WAV file with the standard 44-byte header.
pub fn write_wav(path: &Path, pcm: &[i16]) {
    let data_len = (pcm.len() * 2) as u32;
    let mut wav = Vec::with_capacity(44 + pcm.len() * 2);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&(RATE as u32).to_le_bytes());
    wav.extend_from_slice(&(RATE as u32 * 2).to_le_bytes()); // bytes a second
    wav.extend_from_slice(&2u16.to_le_bytes()); // bytes a sample
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits a sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for s in pcm {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, &wav).unwrap();
}

/// A WAV file's samples, after checking that its header says 16 kHz 16-bit mono PCM and
/// carries the file's real sizes (a finished file).
pub fn read_wav(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.len() >= 44, "{} bytes", bytes.len());
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u16_at = |at: usize| u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap());
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    assert_eq!(u32_at(4) as usize, bytes.len() - 8, "RIFF size");
    assert_eq!((u16_at(20), u16_at(22)), (1, 1), "PCM, mono");
    assert_eq!(
        (u32_at(24), u16_at(34)),
        (RATE as u32, 16),
        "16 kHz, 16 bits"
    );
    assert_eq!(&bytes[36..40], b"data");
    assert_eq!(u32_at(40) as usize, bytes.len() - 44, "data size");
    (bytes[44..].chunks_exact(2))
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// The amplitude of the `freq` Hz component of `pcm`, by Goertzel.
pub fn goertzel(pcm: &[i16], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / RATE as f64;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in pcm {
        let s0 = f64::from(x) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    2.0 * (s1 * s1 + s2 * s2 - c * s1 * s2).max(0.0).sqrt() / pcm.len() as f64
}
