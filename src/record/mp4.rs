//! A progressive MP4 (ISO/IEC 14496-12) writer for recordings: H.264 video (`avc1`) and
//! Opus audio (`Opus`, as in "Encapsulation of Opus in ISO Base Media File Format").
//!
//! Samples go to the file as they come, inside one `mdat` with a 64-bit size; the sample
//! tables (a few bytes per sample) stay in memory and the `moov` is written at the end. So
//! memory does not grow with the recording's bytes and a write error is seen at once.
//! When the disk fills up, [`Mp4Writer::salvage`] drops the newest samples until the
//! `moov` fits in the space they held, so what was recorded stays a playable file.
//!
//! Why not a crate: `muxide` 0.5 keeps every sample's bytes in memory until it finishes
//! (a one-hour recording at 1 Mbit/s is 450 MB of RAM) and stops at a 4 GiB `mdat`; `mp4`
//! 0.14 writes progressively but has no Opus and no release since 2023.

use std::io::{self, SeekFrom};

use crate::sink::Sink;

/// Timescale of the video track (the usual 90 kHz of video).
pub const VIDEO_TIMESCALE: u32 = 90_000;
/// Timescale of an Opus track (always 48 kHz, whatever the input rate).
pub const OPUS_TIMESCALE: u32 = 48_000;
/// Timescale of the movie header.
const MOVIE_TIMESCALE: u32 = 1000;

/// The video track's pictures.
#[derive(Debug, Clone, Copy)]
pub struct VideoTrack {
    pub width: u16,
    pub height: u16,
    /// Duration of the last picture, in [`VIDEO_TIMESCALE`] ticks.
    pub frame_ticks: u32,
}

/// The audio track: mono or stereo Opus.
#[derive(Debug, Clone, Copy)]
pub struct OpusTrack {
    pub channels: u8,
    /// The encoder's look-ahead at 48 kHz, which players drop from the start.
    pub pre_skip: u16,
    /// The PCM rate given to the encoder (informative).
    pub input_rate: u32,
}

#[derive(Default)]
struct Samples {
    offsets: Vec<u64>,
    sizes: Vec<u32>,
    /// Decode times in the track's timescale.
    times: Vec<u64>,
    /// 1-based numbers of key samples (video).
    keys: Vec<u32>,
}

impl Samples {
    fn truncate(&mut self, n: usize) {
        self.offsets.truncate(n);
        self.sizes.truncate(n);
        self.times.truncate(n);
        self.keys.retain(|&k| (k as usize) <= n);
    }

    /// Durations from the times; the last lasts `last`.
    fn durations(&self, last: u32) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .times
            .windows(2)
            .map(|w| (w[1] - w[0]) as u32)
            .collect();
        if !self.times.is_empty() {
            out.push(last);
        }
        out
    }

    fn duration(&self, last: u32) -> u64 {
        self.durations(last).iter().map(|&d| d as u64).sum()
    }
}

/// Writes one MP4 file to `out` (a new, empty file).
pub struct Mp4Writer<W: Sink> {
    out: W,
    /// End of the last complete sample.
    end: u64,
    mdat_at: u64,
    video: Option<(VideoTrack, Samples)>,
    audio: Option<(OpusTrack, Samples)>,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    /// Packed sample bytes (reused).
    scratch: Vec<u8>,
}

impl<W: Sink> Mp4Writer<W> {
    pub fn new(
        mut out: W,
        video: Option<VideoTrack>,
        audio: Option<OpusTrack>,
    ) -> io::Result<Self> {
        let mut head = Vec::new();
        boxed(&mut head, b"ftyp", |b| {
            b.extend_from_slice(b"isom");
            put32(b, 0x200);
            for brand in [b"isom", b"iso2", b"avc1", b"mp41"] {
                b.extend_from_slice(brand);
            }
        });
        let mdat_at = head.len() as u64;
        // size 1: the 64-bit size follows, patched at the end.
        put32(&mut head, 1);
        head.extend_from_slice(b"mdat");
        put64(&mut head, 0);
        out.write_all(&head)?;
        Ok(Mp4Writer {
            out,
            end: head.len() as u64,
            mdat_at,
            video: video.map(|v| (v, Samples::default())),
            audio: audio.map(|a| (a, Samples::default())),
            sps: None,
            pps: None,
            scratch: Vec::new(),
        })
    }

    /// Whether the video track has had its first key frame (with SPS and PPS).
    pub fn video_started(&self) -> bool {
        self.sps.is_some() && self.pps.is_some()
    }

    /// One picture in H.264 Annex B at `ticks` ([`VIDEO_TIMESCALE`]); pictures before the
    /// first key frame with SPS and PPS are dropped (they could not be decoded).
    pub fn write_video(&mut self, ticks: u64, annex_b: &[u8], key: bool) -> io::Result<()> {
        let mut packed = std::mem::take(&mut self.scratch);
        packed.clear();
        for nal in nal_units(annex_b) {
            match nal[0] & 0x1f {
                7 => self.sps = Some(nal.to_vec()),
                8 => self.pps = Some(nal.to_vec()),
                9 => {} // access unit delimiter: not in MP4 samples
                _ => {
                    put32(&mut packed, nal.len() as u32);
                    packed.extend_from_slice(nal);
                }
            }
        }
        let result = if packed.is_empty() || !self.video_started() {
            Ok(())
        } else {
            self.put_sample(true, ticks, &packed, key)
        };
        self.scratch = packed;
        result
    }

    /// One Opus packet at `ticks` ([`OPUS_TIMESCALE`]).
    pub fn write_audio(&mut self, ticks: u64, packet: &[u8]) -> io::Result<()> {
        self.put_sample(false, ticks, packet, false)
    }

    fn put_sample(&mut self, video: bool, ticks: u64, data: &[u8], key: bool) -> io::Result<()> {
        let at = self.end;
        let samples = match (video, &mut self.video, &mut self.audio) {
            (true, Some((_, s)), _) | (false, _, Some((_, s))) => s,
            _ => return Ok(()),
        };
        if samples.times.last().is_some_and(|&t| ticks <= t) {
            return Ok(()); // times must rise
        }
        self.out.write_all(data)?;
        samples.offsets.push(at);
        samples.sizes.push(data.len() as u32);
        samples.times.push(ticks);
        if key {
            samples.keys.push(samples.times.len() as u32);
        }
        self.end += data.len() as u64;
        Ok(())
    }

    /// Bytes of the file so far.
    pub fn bytes(&self) -> u64 {
        self.end
    }

    /// Writes the `moov` after the samples and the `mdat`'s size: the file is complete.
    pub fn finish(mut self) -> io::Result<W> {
        self.write_index()?;
        Ok(self.out)
    }

    /// After a failed write (a full disk): drops the newest samples until the `moov` fits
    /// in the bytes they held, then finishes. `file_len` is how long the file got.
    pub fn salvage(mut self, file_len: u64) -> io::Result<W> {
        // The index only shrinks as samples go, so its size now is enough room: one pass
        // drops samples until that much is free (not an index built per dropped sample).
        let need = self.moov().len() as u64 + 4096;
        while file_len.saturating_sub(self.end) < need && self.end > self.first_sample() {
            let v = (self.video.as_ref()).and_then(|(_, s)| s.offsets.last().copied());
            let a = (self.audio.as_ref()).and_then(|(_, s)| s.offsets.last().copied());
            self.end = match (v, a) {
                (Some(v), Some(a)) if v > a => self.drop_last(true),
                (Some(_), None) => self.drop_last(true),
                (_, Some(_)) => self.drop_last(false),
                (None, None) => break,
            };
        }
        self.write_index()?;
        Ok(self.out)
    }

    fn first_sample(&self) -> u64 {
        self.mdat_at + 16
    }

    /// Forgets the last sample of a track; the offset it started at.
    fn drop_last(&mut self, video: bool) -> u64 {
        let samples = match (video, &mut self.video, &mut self.audio) {
            (true, Some((_, s)), _) | (false, _, Some((_, s))) => s,
            _ => unreachable!("called for a track with samples"),
        };
        let at = samples.offsets.last().copied().unwrap_or(self.end);
        samples.truncate(samples.offsets.len() - 1);
        at
    }

    fn write_index(&mut self) -> io::Result<()> {
        let moov = self.moov();
        self.out.seek(SeekFrom::Start(self.end))?;
        self.out.write_all(&moov)?;
        let end = self.end + moov.len() as u64;
        self.out.seek(SeekFrom::Start(self.mdat_at + 8))?;
        self.out
            .write_all(&(self.end - self.mdat_at).to_be_bytes())?;
        self.out.seek(SeekFrom::Start(end))?;
        self.out.flush()?;
        // After a salvage the dropped samples' bytes go.
        self.out.set_len(end)
    }

    fn moov(&self) -> Vec<u8> {
        let mut moov = Vec::new();
        let video_ms = self.video.as_ref().map_or(0, |(v, s)| {
            s.duration(v.frame_ticks) * MOVIE_TIMESCALE as u64 / VIDEO_TIMESCALE as u64
        });
        let audio_ms = self.audio.as_ref().map_or(0, |(_, s)| {
            s.duration(960) * MOVIE_TIMESCALE as u64 / OPUS_TIMESCALE as u64
        });
        boxed(&mut moov, b"moov", |b| {
            full_box(b, b"mvhd", 0, 0, |b| {
                put32(b, 0);
                put32(b, 0);
                put32(b, MOVIE_TIMESCALE);
                put32(b, video_ms.max(audio_ms) as u32);
                put32(b, 0x0001_0000); // rate 1.0
                put16(b, 0x0100); // volume 1.0
                b.extend_from_slice(&[0; 10]);
                matrix(b);
                b.extend_from_slice(&[0; 24]);
                put32(b, 3); // next track ID
            });
            let mut id = 1;
            if let Some((track, samples)) = &self.video {
                if self.video_started() && !samples.times.is_empty() {
                    self.video_trak(b, id, track, samples, video_ms);
                    id += 1;
                }
            }
            if let Some((track, samples)) = &self.audio {
                if !samples.times.is_empty() {
                    audio_trak(b, id, track, samples, audio_ms);
                }
            }
        });
        moov
    }

    fn video_trak(&self, b: &mut Vec<u8>, id: u32, t: &VideoTrack, s: &Samples, ms: u64) {
        let (sps, pps) = (self.sps.as_deref().unwrap(), self.pps.as_deref().unwrap());
        trak(b, id, ms, false, (t.width, t.height), |b| {
            mdhd(b, VIDEO_TIMESCALE, s.duration(t.frame_ticks));
            hdlr(b, b"vide", b"VideoHandler");
            boxed(b, b"minf", |b| {
                full_box(b, b"vmhd", 0, 1, |b| b.extend_from_slice(&[0; 8]));
                dinf(b);
                boxed(b, b"stbl", |b| {
                    full_box(b, b"stsd", 0, 0, |b| {
                        put32(b, 1);
                        boxed(b, b"avc1", |b| {
                            b.extend_from_slice(&[0; 6]);
                            put16(b, 1); // data reference index
                            b.extend_from_slice(&[0; 16]);
                            put16(b, t.width);
                            put16(b, t.height);
                            put32(b, 0x0048_0000); // 72 dpi
                            put32(b, 0x0048_0000);
                            put32(b, 0);
                            put16(b, 1); // frames per sample
                            b.extend_from_slice(&[0; 32]); // compressor name
                            put16(b, 0x0018); // depth
                            put16(b, 0xffff);
                            boxed(b, b"avcC", |b| {
                                b.extend_from_slice(&[1, sps[1], sps[2], sps[3], 0xff, 0xe1]);
                                put16(b, sps.len() as u16);
                                b.extend_from_slice(sps);
                                b.push(1);
                                put16(b, pps.len() as u16);
                                b.extend_from_slice(pps);
                            });
                        });
                    });
                    sample_tables(b, s, t.frame_ticks, true);
                });
            });
        });
    }
}

fn audio_trak(b: &mut Vec<u8>, id: u32, t: &OpusTrack, s: &Samples, ms: u64) {
    trak(b, id, ms, true, (0, 0), |b| {
        mdhd(b, OPUS_TIMESCALE, s.duration(960));
        hdlr(b, b"soun", b"SoundHandler");
        boxed(b, b"minf", |b| {
            full_box(b, b"smhd", 0, 0, |b| b.extend_from_slice(&[0; 4]));
            dinf(b);
            boxed(b, b"stbl", |b| {
                full_box(b, b"stsd", 0, 0, |b| {
                    put32(b, 1);
                    boxed(b, b"Opus", |b| {
                        b.extend_from_slice(&[0; 6]);
                        put16(b, 1); // data reference index
                        b.extend_from_slice(&[0; 8]);
                        put16(b, t.channels as u16);
                        put16(b, 16); // sample size
                        put32(b, 0);
                        put32(b, OPUS_TIMESCALE << 16);
                        boxed(b, b"dOps", |b| {
                            b.push(0); // version
                            b.push(t.channels);
                            put16(b, t.pre_skip);
                            put32(b, t.input_rate);
                            put16(b, 0); // output gain
                            b.push(0); // channel mapping family
                        });
                    });
                });
                sample_tables(b, s, 960, false);
            });
        });
    });
}

fn trak(
    b: &mut Vec<u8>,
    id: u32,
    ms: u64,
    audio: bool,
    (w, h): (u16, u16),
    mdia: impl FnOnce(&mut Vec<u8>),
) {
    boxed(b, b"trak", |b| {
        full_box(b, b"tkhd", 0, 3, |b| {
            put32(b, 0);
            put32(b, 0);
            put32(b, id);
            put32(b, 0);
            put32(b, ms as u32);
            b.extend_from_slice(&[0; 8]);
            put16(b, 0); // layer
            put16(b, u16::from(audio)); // alternate group
            put16(b, if audio { 0x0100 } else { 0 });
            put16(b, 0);
            matrix(b);
            put32(b, (w as u32) << 16);
            put32(b, (h as u32) << 16);
        });
        boxed(b, b"mdia", mdia);
    });
}

fn mdhd(b: &mut Vec<u8>, timescale: u32, duration: u64) {
    full_box(b, b"mdhd", 1, 0, |b| {
        put64(b, 0);
        put64(b, 0);
        put32(b, timescale);
        put64(b, duration);
        put16(b, 0x55c4); // "und"
        put16(b, 0);
    });
}

fn hdlr(b: &mut Vec<u8>, kind: &[u8; 4], name: &[u8]) {
    full_box(b, b"hdlr", 0, 0, |b| {
        put32(b, 0);
        b.extend_from_slice(kind);
        b.extend_from_slice(&[0; 12]);
        b.extend_from_slice(name);
        b.push(0);
    });
}

fn dinf(b: &mut Vec<u8>) {
    boxed(b, b"dinf", |b| {
        full_box(b, b"dref", 0, 0, |b| {
            put32(b, 1);
            full_box(b, b"url ", 0, 1, |_| {}); // the data is in this file
        });
    });
}

fn sample_tables(b: &mut Vec<u8>, s: &Samples, last: u32, video: bool) {
    let durations = s.durations(last);
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for d in durations {
        match runs.last_mut() {
            Some((n, delta)) if *delta == d => *n += 1,
            _ => runs.push((1, d)),
        }
    }
    full_box(b, b"stts", 0, 0, |b| {
        put32(b, runs.len() as u32);
        for (n, d) in &runs {
            put32(b, *n);
            put32(b, *d);
        }
    });
    if video {
        full_box(b, b"stss", 0, 0, |b| {
            put32(b, s.keys.len() as u32);
            for k in &s.keys {
                put32(b, *k);
            }
        });
    }
    full_box(b, b"stsc", 0, 0, |b| {
        put32(b, 1);
        put32(b, 1); // from the first chunk on,
        put32(b, 1); // one sample per chunk,
        put32(b, 1); // of sample description 1
    });
    full_box(b, b"stsz", 0, 0, |b| {
        put32(b, 0);
        put32(b, s.sizes.len() as u32);
        for size in &s.sizes {
            put32(b, *size);
        }
    });
    full_box(b, b"co64", 0, 0, |b| {
        put32(b, s.offsets.len() as u32);
        for at in &s.offsets {
            put64(b, *at);
        }
    });
}

fn matrix(b: &mut Vec<u8>) {
    for v in [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000u32] {
        put32(b, v);
    }
}

fn boxed(b: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let at = b.len();
    put32(b, 0);
    b.extend_from_slice(kind);
    body(b);
    let size = (b.len() - at) as u32;
    b[at..at + 4].copy_from_slice(&size.to_be_bytes());
}

fn full_box(
    b: &mut Vec<u8>,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    boxed(b, kind, |b| {
        put32(b, (version as u32) << 24 | flags);
        body(b);
    });
}

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_be_bytes());
}

/// The NAL units of an H.264 Annex B stream (start codes removed).
pub fn nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = (starts.iter().skip(1))
        .map(|&s| {
            // The next start code, and a fourth zero byte before it.
            let mut end = s - 3;
            if end > 0 && data[end - 1] == 0 {
                end -= 1;
            }
            end
        })
        .chain(std::iter::once(data.len()))
        .collect();
    starts
        .into_iter()
        .zip(ends)
        .map(move |(s, e)| &data[s..e.max(s)])
        .filter(|nal| !nal.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// The top-level boxes of `file`: (kind, size).
    fn top_boxes(file: &[u8]) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + 8 <= file.len() {
            let mut size = u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as u64;
            let kind = String::from_utf8_lossy(&file[at + 4..at + 8]).into_owned();
            if size == 1 {
                size = u64::from_be_bytes(file[at + 8..at + 16].try_into().unwrap());
            }
            out.push((kind, size));
            at += size as usize;
        }
        assert_eq!(at, file.len(), "boxes cover the file exactly");
        out
    }

    fn key_frame() -> Vec<u8> {
        let mut f = vec![0, 0, 0, 1, 0x67, 66, 0xc0, 30, 0xaa];
        f.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
        f.extend_from_slice(&[0, 0, 1, 0x65, 1, 2, 3, 4]);
        f
    }

    #[test]
    fn nal_units_split_on_three_and_four_byte_start_codes() {
        let frame = key_frame();
        let nals: Vec<&[u8]> = nal_units(&frame).collect();
        assert_eq!(nals.len(), 3);
        assert_eq!(nals[0], &[0x67, 66, 0xc0, 30, 0xaa]);
        assert_eq!(nals[1], &[0x68, 0xce, 0x3c, 0x80]);
        assert_eq!(nals[2], &[0x65, 1, 2, 3, 4]);
    }

    #[test]
    fn a_file_is_ftyp_mdat_moov_with_every_sample_indexed() {
        let video = VideoTrack {
            width: 320,
            height: 240,
            frame_ticks: 6000,
        };
        let opus = OpusTrack {
            channels: 1,
            pre_skip: 312,
            input_rate: 16_000,
        };
        let mut w = Mp4Writer::new(Cursor::new(Vec::new()), Some(video), Some(opus)).unwrap();
        // A delta frame before the first key frame is dropped.
        w.write_video(0, &[0, 0, 1, 0x41, 9, 9], false).unwrap();
        w.write_video(6000, &key_frame(), true).unwrap();
        w.write_video(12000, &[0, 0, 1, 0x41, 7, 7], false).unwrap();
        for i in 0..5 {
            w.write_audio(i * 960, &[0xf8, i as u8]).unwrap();
        }
        let file = w.finish().unwrap().into_inner();
        let boxes = top_boxes(&file);
        let kinds: Vec<&str> = boxes.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, ["ftyp", "mdat", "moov"]);
        // mdat: 16-byte header + key (4+5) + delta (4+3) + 5 audio packets of 2.
        assert_eq!(boxes[1].1, 16 + 9 + 7 + 10);
        let moov = &file[file.len() - boxes[2].1 as usize..];
        let has = |kind: &[u8]| moov.windows(4).any(|w| w == kind);
        for kind in [&b"avcC"[..], b"dOps", b"stss", b"co64", b"Opus", b"avc1"] {
            assert!(has(kind), "{}", String::from_utf8_lossy(kind));
        }
    }

    #[test]
    fn salvage_drops_the_newest_samples_until_the_index_fits() {
        let mut w = Mp4Writer::new(
            Cursor::new(Vec::new()),
            None,
            Some(OpusTrack {
                channels: 1,
                pre_skip: 312,
                input_rate: 16_000,
            }),
        )
        .unwrap();
        for i in 0..2000u64 {
            w.write_audio(i * 960, &[0u8; 100]).unwrap();
        }
        let len = w.bytes();
        // As if the disk had had no byte left after the last sample.
        let file = w.salvage(len).unwrap().into_inner();
        let boxes = top_boxes(&file[..]);
        let mdat = boxes[1].1;
        assert!(mdat < len - 4096, "samples were dropped to make room");
        assert!(file.len() as u64 <= len, "the file did not grow");
        assert!(mdat > 16 + 100 * 1500, "most samples are kept");
    }
}
