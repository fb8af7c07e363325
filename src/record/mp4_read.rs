//! Reading MP4 files for shared media playback: the sample tables of an H.264 (`avc1`)
//! video track and an Opus audio track, and each sample's bytes (video as Annex B, what
//! the decoder takes). The recorder's files ([`super::mp4`]) are the first thing it reads;
//! any MP4 with those codecs and the usual sample tables works.
//!
//! What it tells apart (`NotifyMediaStop`'s reasons): a file that cannot be opened or read
//! ([`ReadError::Io`]), one that is not an MP4 at all ([`ReadError::NotMedia`]), and an MP4
//! whose tracks use other codecs ([`ReadError::Unsupported`]).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    NotMedia,
    Unsupported,
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// One sample of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub offset: u64,
    pub size: u32,
    /// Decode time, in the track's timescale.
    pub time: u64,
    pub key: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Codec {
    /// H.264: the SPS and PPS of its `avcC`, and the length of its NAL size fields.
    H264 {
        sps: Vec<Vec<u8>>,
        pps: Vec<Vec<u8>>,
        length_size: usize,
    },
    Opus {
        channels: u8,
        pre_skip: u16,
    },
}

#[derive(Debug, Clone)]
pub struct Track {
    pub codec: Codec,
    pub timescale: u32,
    pub width: u16,
    pub height: u16,
    pub samples: Vec<Sample>,
    /// The end of the last sample (the track's length), in the timescale.
    pub end: u64,
}

impl Track {
    /// Milliseconds of a time in this track's timescale.
    pub fn ms(&self, time: u64) -> u64 {
        time * 1000 / self.timescale.max(1) as u64
    }
}

/// An opened MP4 file: its H.264 and Opus tracks (the first of each).
pub struct Mp4File {
    file: File,
    pub video: Option<Track>,
    pub audio: Option<Track>,
    /// The movie's length, ms.
    pub duration_ms: u64,
}

/// A parsed box: its type and the range of its body in the buffer it came from.
struct Bx<'a> {
    kind: [u8; 4],
    body: &'a [u8],
}

/// The boxes one after another in `data` (None when they do not fit it).
fn boxes(mut data: &[u8]) -> Option<Vec<Bx<'_>>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let size = u32::from_be_bytes(data.get(..4)?.try_into().ok()?) as u64;
        let kind: [u8; 4] = data.get(4..8)?.try_into().ok()?;
        let (header, size) = match size {
            1 => (16, u64::from_be_bytes(data.get(8..16)?.try_into().ok()?)),
            0 => (8, data.len() as u64),
            n => (8, n),
        };
        if size < header || size > data.len() as u64 {
            return None;
        }
        out.push(Bx {
            kind,
            body: &data[header as usize..size as usize],
        });
        data = &data[size as usize..];
    }
    Some(out)
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data)?
        .into_iter()
        .find(|b| &b.kind == kind)
        .map(|b| b.body)
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn be64(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(d.get(at..at + 8)?.try_into().ok()?))
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

impl Mp4File {
    pub fn open(path: &Path) -> Result<Mp4File, ReadError> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        // The top-level boxes: read their headers only, then the moov whole.
        let mut at = 0u64;
        let mut moov = None;
        let mut first = true;
        while at + 8 <= len {
            let mut header = [0u8; 16];
            file.seek(SeekFrom::Start(at))?;
            let n = file.read(&mut header)?;
            let size32 = be32(&header, 0).ok_or(ReadError::NotMedia)? as u64;
            let kind: [u8; 4] = header[4..8].try_into().expect("4 bytes");
            if first && &kind != b"ftyp" {
                return Err(ReadError::NotMedia);
            }
            first = false;
            let size = match size32 {
                1 if n >= 16 => be64(&header, 8).ok_or(ReadError::NotMedia)?,
                0 => len - at,
                s => s,
            };
            if size < 8 || at + size > len {
                return Err(ReadError::NotMedia);
            }
            if &kind == b"moov" {
                let mut body = vec![0u8; (size - 8) as usize];
                file.seek(SeekFrom::Start(at + 8))?;
                file.read_exact(&mut body)?;
                moov = Some(body);
            }
            at += size;
        }
        let moov = moov.ok_or(ReadError::NotMedia)?;
        let (mut video, mut audio) = (None, None);
        let mut any_track = false;
        for b in boxes(&moov).ok_or(ReadError::NotMedia)? {
            if &b.kind != b"trak" {
                continue;
            }
            any_track = true;
            match track(b.body) {
                Some(
                    t @ Track {
                        codec: Codec::H264 { .. },
                        ..
                    },
                ) if video.is_none() => video = Some(t),
                Some(
                    t @ Track {
                        codec: Codec::Opus { .. },
                        ..
                    },
                ) if audio.is_none() => audio = Some(t),
                _ => {}
            }
        }
        if video.is_none() && audio.is_none() {
            return Err(if any_track {
                ReadError::Unsupported
            } else {
                ReadError::NotMedia
            });
        }
        let end = |t: &Option<Track>| t.as_ref().map(|t| t.ms(t.end));
        let duration_ms = end(&video).max(end(&audio)).unwrap_or(0);
        Ok(Mp4File {
            file,
            video,
            audio,
            duration_ms,
        })
    }

    /// The bytes of `sample` as stored.
    pub fn read(&mut self, sample: &Sample) -> io::Result<Vec<u8>> {
        let mut data = vec![0u8; sample.size as usize];
        self.file.seek(SeekFrom::Start(sample.offset))?;
        self.file.read_exact(&mut data)?;
        Ok(data)
    }
}

/// A video sample (length-prefixed NAL units) as Annex B; with the SPS and PPS in front
/// when `key`, so that decoding can start at any key frame.
pub fn annex_b(codec: &Codec, sample: &[u8], key: bool) -> Option<Vec<u8>> {
    let Codec::H264 {
        sps,
        pps,
        length_size,
    } = codec
    else {
        return None;
    };
    let mut out = Vec::with_capacity(sample.len() + 64);
    if key {
        for nal in sps.iter().chain(pps) {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        }
    }
    let mut at = 0;
    while at < sample.len() {
        let n = sample.get(at..at + length_size)?;
        let len = n.iter().fold(0usize, |acc, b| acc << 8 | *b as usize);
        at += length_size;
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(sample.get(at..at + len)?);
        at += len;
    }
    Some(out)
}

/// A track: its codec, timescale and samples; None for anything else.
fn track(trak: &[u8]) -> Option<Track> {
    let mdia = child(trak, b"mdia")?;
    let mdhd = child(mdia, b"mdhd")?;
    let timescale = match mdhd.first()? {
        1 => be32(mdhd, 20)?,
        _ => be32(mdhd, 12)?,
    };
    let stbl = child(child(mdia, b"minf")?, b"stbl")?;
    let stsd = child(stbl, b"stsd")?;
    let entry = boxes(stsd.get(8..)?)?.into_iter().next()?;
    let (codec, width, height) = match &entry.kind {
        b"avc1" => {
            let (w, h) = (be16(entry.body, 24)?, be16(entry.body, 26)?);
            let avcc = child(entry.body.get(78..)?, b"avcC")?;
            let length_size = (avcc.get(4)? & 3) as usize + 1;
            let mut at = 5;
            let list = |at: &mut usize, count: usize| -> Option<Vec<Vec<u8>>> {
                let mut out = Vec::new();
                for _ in 0..count {
                    let len = be16(avcc, *at)? as usize;
                    out.push(avcc.get(*at + 2..*at + 2 + len)?.to_vec());
                    *at += 2 + len;
                }
                Some(out)
            };
            let sps_count = (avcc.get(at)? & 0x1f) as usize;
            at += 1;
            let sps = list(&mut at, sps_count)?;
            let pps_count = *avcc.get(at)? as usize;
            at += 1;
            let pps = list(&mut at, pps_count)?;
            let codec = Codec::H264 {
                sps,
                pps,
                length_size,
            };
            (codec, w, h)
        }
        b"Opus" => {
            let dops = child(entry.body.get(28..)?, b"dOps")?;
            let codec = Codec::Opus {
                channels: *dops.get(1)?,
                pre_skip: be16(dops, 2)?,
            };
            (codec, 0, 0)
        }
        _ => return None,
    };
    let (samples, end) = samples(stbl)?;
    Some(Track {
        codec,
        timescale,
        width,
        height,
        samples,
        end,
    })
}

/// The sample table of `stbl`: offsets from the chunks (stsc + stco/co64), sizes (stsz),
/// times (stts), key samples (stss; all are key without it).
fn samples(stbl: &[u8]) -> Option<(Vec<Sample>, u64)> {
    let stsz = child(stbl, b"stsz")?;
    let (fixed, count) = (be32(stsz, 4)?, be32(stsz, 8)? as usize);
    let sizes: Vec<u32> = match fixed {
        0 => (0..count)
            .map(|i| be32(stsz, 12 + 4 * i))
            .collect::<Option<_>>()?,
        size => vec![size; count],
    };
    let chunks: Vec<u64> = if let Some(co64) = child(stbl, b"co64") {
        (0..be32(co64, 4)? as usize)
            .map(|i| be64(co64, 8 + 8 * i))
            .collect::<Option<_>>()?
    } else {
        let stco = child(stbl, b"stco")?;
        (0..be32(stco, 4)? as usize)
            .map(|i| be32(stco, 8 + 4 * i).map(u64::from))
            .collect::<Option<_>>()?
    };
    let stsc = child(stbl, b"stsc")?;
    let runs: Vec<(u32, u32)> = (0..be32(stsc, 4)? as usize)
        .map(|i| Some((be32(stsc, 8 + 12 * i)?, be32(stsc, 12 + 12 * i)?)))
        .collect::<Option<_>>()?;
    let mut offsets = Vec::with_capacity(count);
    for (c, &chunk_at) in chunks.iter().enumerate() {
        let chunk = c as u32 + 1;
        let per = runs.iter().rev().find(|(first, _)| *first <= chunk)?.1;
        let mut at = chunk_at;
        for _ in 0..per {
            let size = *sizes.get(offsets.len())?;
            offsets.push(at);
            at += size as u64;
        }
    }
    let stts = child(stbl, b"stts")?;
    let mut times = Vec::with_capacity(count);
    let mut t = 0u64;
    for i in 0..be32(stts, 4)? as usize {
        let (n, delta) = (be32(stts, 8 + 8 * i)?, be32(stts, 12 + 8 * i)?);
        for _ in 0..n {
            times.push(t);
            t += delta as u64;
        }
    }
    let keys: Option<Vec<u32>> = child(stbl, b"stss").and_then(|stss| {
        (0..be32(stss, 4)? as usize)
            .map(|i| be32(stss, 8 + 4 * i))
            .collect()
    });
    if offsets.len() != count || times.len() < count {
        return None;
    }
    let samples = (0..count)
        .map(|i| Sample {
            offset: offsets[i],
            size: sizes[i],
            time: times[i],
            key: keys
                .as_ref()
                .is_none_or(|k| k.binary_search(&(i as u32 + 1)).is_ok()),
        })
        .collect();
    // The time after the last sample: where the track ends.
    Some((samples, t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::mp4::{Mp4Writer, OpusTrack, VideoTrack};

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("crvideo-mp4-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn what_the_recorder_writes_reads_back_sample_for_sample() {
        let path = scratch("round.mp4");
        let file = File::create(&path).unwrap();
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
        let mut w = Mp4Writer::new(file, Some(video), Some(opus)).unwrap();
        let sps = [0x67, 66, 0xc0, 30, 0xaa];
        let pps = [0x68, 0xce, 0x3c, 0x80];
        let mut key = vec![0, 0, 0, 1];
        key.extend_from_slice(&sps);
        key.extend_from_slice(&[0, 0, 0, 1]);
        key.extend_from_slice(&pps);
        key.extend_from_slice(&[0, 0, 0, 1, 0x65, 1, 2, 3]);
        w.write_video(0, &key, true).unwrap();
        w.write_audio(0, &[0xf8, 1]).unwrap();
        w.write_video(6000, &[0, 0, 1, 0x41, 9, 9, 9, 9], false)
            .unwrap();
        w.write_audio(960, &[0xf8, 2, 2]).unwrap();
        w.finish().unwrap();

        let mut mp4 = Mp4File::open(&path).unwrap();
        let v = mp4.video.clone().unwrap();
        assert_eq!((v.width, v.height, v.timescale), (320, 240, 90_000));
        assert_eq!(
            v.codec,
            Codec::H264 {
                sps: vec![sps.to_vec()],
                pps: vec![pps.to_vec()],
                length_size: 4
            }
        );
        assert_eq!(v.samples.len(), 2);
        assert_eq!((v.samples[0].key, v.samples[1].key), (true, false));
        assert_eq!((v.samples[0].time, v.samples[1].time), (0, 6000));
        let first = mp4.read(&v.samples[0]).unwrap();
        // Back to Annex B with the parameter sets in front: what was written.
        assert_eq!(annex_b(&v.codec, &first, true).unwrap(), key);
        let second = mp4.read(&v.samples[1]).unwrap();
        assert_eq!(
            annex_b(&v.codec, &second, false).unwrap(),
            [0, 0, 0, 1, 0x41, 9, 9, 9, 9]
        );
        let a = mp4.audio.clone().unwrap();
        assert_eq!(
            a.codec,
            Codec::Opus {
                channels: 1,
                pre_skip: 312
            }
        );
        assert_eq!(a.timescale, 48_000);
        assert_eq!(mp4.read(&a.samples[1]).unwrap(), [0xf8, 2, 2]);
        assert_eq!(
            mp4.duration_ms, 133,
            "the end of the last picture, 12000/90000 s"
        );
    }

    #[test]
    fn a_text_file_is_not_media_and_a_missing_file_is_io() {
        let path = scratch("notes.txt");
        std::fs::write(&path, "hello, this is not a video\n").unwrap();
        assert!(matches!(Mp4File::open(&path), Err(ReadError::NotMedia)));
        assert!(matches!(
            Mp4File::open(&scratch("missing.mp4")),
            Err(ReadError::Io(_))
        ));
    }

    #[test]
    fn an_mp4_of_other_codecs_is_unsupported() {
        // ftyp, then a moov with one track whose sample entry is AAC ('mp4a').
        let mut stsd_body = vec![0u8; 8];
        let mut entry = Vec::new();
        entry.extend_from_slice(&36u32.to_be_bytes());
        entry.extend_from_slice(b"mp4a");
        entry.extend_from_slice(&[0u8; 28]);
        stsd_body[4..8].copy_from_slice(&1u32.to_be_bytes());
        stsd_body.extend_from_slice(&entry);
        let wrap = |kind: &[u8; 4], body: &[u8]| {
            let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
            b.extend_from_slice(kind);
            b.extend_from_slice(body);
            b
        };
        let stbl = wrap(b"stbl", &wrap(b"stsd", &stsd_body));
        let minf = wrap(b"minf", &stbl);
        let mut mdhd = vec![0u8; 24];
        mdhd[12..16].copy_from_slice(&48_000u32.to_be_bytes());
        let mdia = wrap(b"mdia", &[wrap(b"mdhd", &mdhd), minf].concat());
        let moov = wrap(b"moov", &wrap(b"trak", &mdia));
        let file = [wrap(b"ftyp", b"isom\0\0\0\0"), moov].concat();
        let path = scratch("aac.mp4");
        std::fs::write(&path, file).unwrap();
        assert!(matches!(Mp4File::open(&path), Err(ReadError::Unsupported)));
    }
}
