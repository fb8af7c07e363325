//! Signals and measures for the audio unit tests.

/// `len` samples at 16 kHz of the sum of sines `(frequency, amplitude)`.
pub fn tone(parts: &[(f64, f64)], len: usize) -> Vec<i16> {
    (0..len)
        .map(|i| {
            let t = i as f64 / 16000.0;
            let v: f64 = (parts.iter())
                .map(|&(f, a)| a * (2.0 * std::f64::consts::PI * f * t).sin())
                .sum();
            v.round().clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

/// The amplitude of the `frequency` component of `pcm` (sampled at `rate`), by Goertzel.
pub fn goertzel(pcm: &[i16], frequency: f64, rate: usize) -> f64 {
    let w = 2.0 * std::f64::consts::PI * frequency / rate as f64;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in pcm {
        let s0 = f64::from(x) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - c * s1 * s2;
    2.0 * power.max(0.0).sqrt() / pcm.len() as f64
}
