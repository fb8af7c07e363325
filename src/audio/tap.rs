//! What `CRVideo_StartGetAudioPCM` starts: a side's PCM to the app in `EachSize` pieces
//! (`NotifyAudioPCMDat`) or into a WAV file.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
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

/// A WAV file being written: 16 kHz, 16-bit, mono PCM. Its header carries the final sizes
/// once it is finished ([`WavFile::finish`], or when dropped); a write that fails stops the
/// file where it was (logged) and it is still finished valid.
pub struct WavFile {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    data_bytes: u32,
}

/// Bytes of the header before the samples.
pub const HEADER: usize = 44;
/// Most data bytes a WAV file can say it has (its sizes are 32 bits).
const MAX_DATA: u32 = u32::MAX - HEADER as u32;

impl WavFile {
    /// Creates (or empties) `path`: `FILE_WRITE_ERR` when it cannot.
    pub fn create(path: PathBuf) -> Result<WavFile, ErrorCode> {
        let file = File::create(&path).map_err(|e| {
            tracing::warn!("cannot create {}: {e}", path.display());
            ErrorCode::FileWriteErr
        })?;
        let mut wav = WavFile {
            path,
            file: Some(BufWriter::new(file)),
            data_bytes: 0,
        };
        let header = wav_header(0);
        wav.put(&header);
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
        if self.put(&bytes) {
            self.data_bytes += bytes.len() as u32;
        }
    }

    /// Writes `bytes`; on failure the file stops growing (it stays valid when finished).
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

    /// Writes the final sizes into the header and closes the file.
    pub fn finish(&mut self) {
        let Some(mut file) = self.file.take() else {
            return;
        };
        let result = (|| {
            file.flush()?;
            let mut file = file.into_inner().map_err(|e| e.into_error())?;
            // Whatever was buffered and not written is not in the sizes.
            let data = file.seek(SeekFrom::End(0))?.saturating_sub(HEADER as u64);
            let data = (data as u32).min(self.data_bytes) & !1;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&wav_header(data))?;
            file.set_len(HEADER as u64 + u64::from(data))
        })();
        if let Err(e) = result {
            tracing::warn!("finishing {}: {e}", self.path.display());
        }
    }
}

impl Drop for WavFile {
    fn drop(&mut self) {
        self.finish();
    }
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
}
