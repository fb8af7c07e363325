//! The MD5 of a net-disk transfer, computed on a thread of its own.
//!
//! MD5 is the slowest step of moving a file through the net disk: one core hashes about
//! 800 MiB/s, while reading, sending and writing the same bytes cost a fraction of that.
//! So the SDK's reader and downloader and the server's writer hand each chunk to an
//! [`Md5Thread`] and go on; the digest is ready when the last chunk is hashed. A hasher
//! that falls behind by [`QUEUE_CHUNKS`] chunks makes [`Md5Thread::update`] wait, which
//! bounds the memory held for it.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use md5::{Digest, Md5};

/// Chunks that may wait for the hasher.
pub const QUEUE_CHUNKS: usize = 8;

/// A running MD5 of chunks given in order. Dropped without [`Md5Thread::finish`], it
/// stops at once (chunks still queued are skipped) and its thread is joined.
pub struct Md5Thread {
    chunks: Option<SyncSender<Bytes>>,
    abandoned: Arc<AtomicBool>,
    thread: Option<JoinHandle<Md5>>,
}

impl Md5Thread {
    /// Starts hashing on a new thread; `prefix` are bytes already hashed (a resumed upload).
    pub fn start(prefix: Md5) -> io::Result<Md5Thread> {
        let (chunks, queue) = sync_channel::<Bytes>(QUEUE_CHUNKS);
        let abandoned = Arc::new(AtomicBool::new(false));
        let stop = abandoned.clone();
        let thread = std::thread::Builder::new()
            .name("crvideo-md5".into())
            .spawn(move || {
                let mut md5 = prefix;
                for chunk in queue {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    md5.update(&chunk);
                }
                md5
            })?;
        Ok(Md5Thread {
            chunks: Some(chunks),
            abandoned,
            thread: Some(thread),
        })
    }

    /// Hashes `chunk` after the ones before; waits while [`QUEUE_CHUNKS`] are queued.
    pub fn update(&self, chunk: Bytes) {
        if let Some(chunks) = &self.chunks {
            // The thread only ends once the sender is gone (or panicked: then finish says so).
            let _ = chunks.send(chunk);
        }
    }

    /// The digest of everything given, as lowercase hex; `None` if the thread panicked.
    pub fn finish(mut self) -> Option<String> {
        self.chunks.take();
        let md5 = self.thread.take()?.join().ok()?;
        Some(crate::hex(&md5.finalize()))
    }
}

impl Drop for Md5Thread {
    fn drop(&mut self) {
        self.abandoned.store(true, Ordering::Relaxed);
        self.chunks.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_one_pass_over_the_same_bytes() {
        let data: Vec<u8> = (0..1_000_003u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let hasher = Md5Thread::start(Md5::new()).unwrap();
        for chunk in data.chunks(65_536) {
            hasher.update(Bytes::copy_from_slice(chunk));
        }
        let expected = crate::hex(&Md5::digest(&data));
        assert_eq!(hasher.finish().unwrap(), expected);
    }

    #[test]
    fn a_prefix_hashed_before_counts() {
        let mut prefix = Md5::new();
        prefix.update(b"hello ");
        let hasher = Md5Thread::start(prefix).unwrap();
        hasher.update(Bytes::from_static(b"world"));
        assert_eq!(
            hasher.finish().unwrap(),
            crate::hex(&Md5::digest(b"hello world"))
        );
    }
}
