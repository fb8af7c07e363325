//! What `CRVideo_StartGetAudioPCM` starts: a side's PCM to the app in `EachSize` pieces
//! (`NotifyAudioPCMDat`) or into a WAV file.

use crate::sink::Sink;
use std::fs::File;
use std::io::{BufWriter, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;

use crate::dispatch::{Dispatcher, Event};
use crate::ErrorCode;

use super::codec::RATE;

/// Bytes of 10 ms of PCM: `EachSize` is a multiple of it.
pub const CHUNK_BYTES: usize = RATE / 100 * 2;
/// Largest `EachSize` (1 s).
pub const MAX_EACH: usize = 100 * CHUNK_BYTES;
/// PCM waiting for the app beyond which a side's pieces are dropped, not queued: a slow
/// app loses audio, the SDK's memory does not grow.
const MAX_UNDELIVERED: usize = 8 << 20;

/// Where a side's PCM goes.
pub enum Tap {
    /// `NotifyAudioPCMDat(aSide, …)` with `each` bytes.
    Notify {
        side: i32,
        each: usize,
        pending: Vec<u8>,
        events: Arc<Dispatcher>,
    },
    Wav(WavFile),
}

impl Tap {
    /// Forgets a part-filled piece (the meeting it came from is over).
    pub fn drop_partial(&mut self) {
        if let Tap::Notify { pending, .. } = self {
            pending.clear();
        }
    }

    /// PCM of the side, as it happens.
    pub fn feed(&mut self, pcm: &[i16]) {
        match self {
            Tap::Notify {
                side,
                each,
                pending,
                events,
            } => {
                pending.extend(pcm.iter().flat_map(|s| s.to_le_bytes()));
                while pending.len() >= *each {
                    let rest = pending.split_off(*each);
                    let piece = std::mem::replace(pending, rest);
                    if events.undelivered_data() < MAX_UNDELIVERED {
                        events.push(Event::NotifyAudioPCMDat {
                            a_side: *side,
                            pcm: piece,
                        });
                    }
                }
            }
            Tap::Wav(wav) => wav.write(pcm),
        }
    }
}

/// A WAV file being written: 16 kHz, 16-bit, mono PCM. Its header is brought up to date
/// every second of audio (a crash leaves a valid file of all but the last second) and when
/// it is finished ([`WavFile::finish`], or when dropped). A write that fails (a full disk)
/// stops the file where it was, logged, and it is still finished valid: its header then
/// says what is really in it.
pub struct WavFile<S: Sink = File> {
    path: PathBuf,
    file: Option<BufWriter<S>>,
    data_bytes: u32,
    /// Data bytes written since the header was last brought up to date.
    unsaid: u32,
}

/// Bytes of the header before the samples.
pub const HEADER: usize = 44;
/// Most data bytes a WAV file can say it has (its sizes are 32 bits).
const MAX_DATA: u32 = u32::MAX - HEADER as u32;
/// Data bytes between two header updates (1 s).
const HEADER_EVERY: u32 = (RATE * 2) as u32;

impl WavFile {
    /// Creates (or empties) `path`: `FILE_WRITE_ERR` when it cannot.
    pub fn create(path: PathBuf) -> Result<WavFile, ErrorCode> {
        let file = File::create(&path).map_err(|e| {
            tracing::warn!("cannot create {}: {e}", path.display());
            ErrorCode::FileWriteErr
        })?;
        WavFile::with_sink(path, file)
    }
}

impl<S: Sink> WavFile<S> {
    /// A WAV file written to `sink` (`path` names it in the log).
    pub fn with_sink(path: PathBuf, sink: S) -> Result<WavFile<S>, ErrorCode> {
        let mut wav = WavFile {
            path,
            file: Some(BufWriter::new(sink)),
            data_bytes: 0,
            unsaid: 0,
        };
        wav.put(&wav_header(0));
        if wav.file.is_none() {
            return Err(ErrorCode::FileWriteErr);
        }
        Ok(wav)
    }

    fn write(&mut self, pcm: &[i16]) {
        let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        if self.data_bytes.saturating_add(bytes.len() as u32) > MAX_DATA {
            return; // a WAV file holds about 37 hours of this; the rest is not kept
        }
        if !self.put(&bytes) {
            return;
        }
        self.data_bytes += bytes.len() as u32;
        self.unsaid += bytes.len() as u32;
        if self.unsaid >= HEADER_EVERY {
            self.unsaid = 0;
            if let Err(e) = self.update_header() {
                tracing::warn!("writing {}: {e}", self.path.display());
                self.finish();
            }
        }
    }

    /// Writes `bytes`; on failure the file is finished where it was.
    fn put(&mut self, bytes: &[u8]) -> bool {
        let Some(file) = self.file.as_mut() else {
            return false;
        };
        if let Err(e) = file.write_all(bytes) {
            tracing::warn!("writing {}: {e}", self.path.display());
            self.finish();
            return false;
        }
        true
    }

    /// Writes out what is buffered and puts the sizes so far into the header.
    fn update_header(&mut self) -> std::io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        file.flush()?;
        let sink = file.get_mut();
        let end = sink.seek(SeekFrom::End(0))?;
        let header = wav_header(data_size(end));
        sink.seek(SeekFrom::Start(0))?;
        sink.write_all(&header)?;
        sink.seek(SeekFrom::End(0))?;
        Ok(())
    }

    /// Writes what it can of what is buffered, then the real sizes into the header, and
    /// closes the file.
    pub fn finish(&mut self) {
        let Some(file) = self.file.take() else {
            return;
        };
        let (mut sink, buffered) = file.into_parts();
        let result = (|| {
            // What does not fit (a full disk) is left out; the header says what is there.
            if let Ok(buffered) = buffered {
                if let Err(e) = sink.write_all(&buffered) {
                    tracing::warn!("writing {}: {e}", self.path.display());
                }
            }
            let end = sink.seek(SeekFrom::End(0))?;
            let data = data_size(end);
            sink.seek(SeekFrom::Start(0))?;
            sink.write_all(&wav_header(data))?;
            sink.set_len(HEADER as u64 + u64::from(data))?;
            sink.flush()
        })();
        if let Err(e) = result {
            tracing::warn!("finishing {}: {e}", self.path.display());
        }
    }
}

impl<S: Sink> Drop for WavFile<S> {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The data size of a WAV file of `len` bytes: whole samples after the header.
fn data_size(len: u64) -> u32 {
    (len.saturating_sub(HEADER as u64).min(u64::from(MAX_DATA)) as u32) & !1
}

/// The 44-byte header of a 16 kHz 16-bit mono WAV file of `data` bytes of samples.
pub fn wav_header(data: u32) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    let mut put = |at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, b"RIFF");
    put(4, &(36 + data).to_le_bytes());
    put(8, b"WAVEfmt ");
    put(16, &16u32.to_le_bytes()); // fmt chunk size
    put(20, &1u16.to_le_bytes()); // PCM
    put(22, &1u16.to_le_bytes()); // mono
    put(24, &(RATE as u32).to_le_bytes());
    put(28, &(RATE as u32 * 2).to_le_bytes()); // bytes per second
    put(32, &2u16.to_le_bytes()); // bytes per sample frame
    put(34, &16u16.to_le_bytes()); // bits per sample
    put(36, b"data");
    put(40, &data.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Seek;

    #[test]
    fn a_wav_file_has_its_sizes_and_samples() {
        let dir = std::env::temp_dir().join(format!("crvideo-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.wav");
        let mut wav = WavFile::create(path.clone()).unwrap();
        let pcm: Vec<i16> = (0..16000).map(|i| (i % 300) as i16 - 150).collect();
        wav.write(&pcm);
        drop(wav);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 44 + 32000);
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes(bytes[4..8].try_into().unwrap()),
            36 + 32000
        );
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 16000);
        assert_eq!(u32::from_le_bytes(bytes[40..44].try_into().unwrap()), 32000);
        assert_eq!(i16::from_le_bytes([bytes[44], bytes[45]]), -150);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            WavFile::create(dir.join("no/such/dir.wav")).err(),
            Some(ErrorCode::FileWriteErr)
        );
    }

    /// A disk of `room` bytes: writes past it fail (after writing what fits).
    struct SmallDisk {
        bytes: std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
        at: usize,
        room: usize,
    }

    impl Write for SmallDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut bytes = self.bytes.borrow_mut();
            let n = buf.len().min(self.room.saturating_sub(self.at));
            if n == 0 && !buf.is_empty() {
                return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "full"));
            }
            if bytes.len() < self.at + n {
                bytes.resize(self.at + n, 0);
            }
            bytes[self.at..self.at + n].copy_from_slice(&buf[..n]);
            self.at += n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Seek for SmallDisk {
        fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
            let len = self.bytes.borrow().len() as i64;
            self.at = match pos {
                SeekFrom::Start(n) => n as i64,
                SeekFrom::End(n) => len + n,
                SeekFrom::Current(n) => self.at as i64 + n,
            } as usize;
            Ok(self.at as u64)
        }
    }

    impl Sink for SmallDisk {
        fn set_len(&mut self, len: u64) -> std::io::Result<()> {
            self.bytes.borrow_mut().truncate(len as usize);
            Ok(())
        }
    }

    #[test]
    fn a_full_disk_leaves_a_valid_wav_file_of_what_fitted() {
        for room in [44, 1001, 40_000, 65_536] {
            let bytes = std::rc::Rc::default();
            let disk = SmallDisk {
                bytes: std::rc::Rc::clone(&bytes),
                at: 0,
                room,
            };
            let mut wav = WavFile::with_sink(PathBuf::from("small"), disk).unwrap();
            for _ in 0..100 {
                wav.write(&[7i16; 1600]); // 100 ms a time, 10 s in all
            }
            drop(wav);
            let bytes = bytes.borrow();
            let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            assert_eq!(&bytes[..4], b"RIFF");
            let data = (room - 44) & !1;
            assert_eq!(bytes.len(), 44 + data, "room {room}");
            assert_eq!(u32_at(4) as usize, bytes.len() - 8, "room {room}");
            assert_eq!(u32_at(40) as usize, data, "room {room}");
        }
    }

    #[test]
    fn the_header_is_kept_up_to_date_while_writing() {
        let dir = std::env::temp_dir().join(format!("crvideo-wav2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("live.wav");
        let mut wav = WavFile::create(path.clone()).unwrap();
        wav.write(&[1i16; 16_000]); // 1 s
        wav.write(&[1i16; 800]);
        // Without finishing: the header says the first second at least.
        let bytes = std::fs::read(&path).unwrap();
        let said = u32::from_le_bytes(bytes[40..44].try_into().unwrap());
        assert!(said >= 32_000, "{said}");
        assert!(44 + said as usize <= bytes.len());
        drop(wav);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
