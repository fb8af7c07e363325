//! Where an incoming transfer's bytes go — memory (buffers) or a hidden partial file in
//! `tmpDir` (files) — hashed as they come, off the I/O thread.
//!
//! The I/O thread only queues each chunk (no copy: a slice of the frame it arrived in). A
//! drainer on tokio's blocking pool writes and hashes the queued chunks in order and
//! reports what it consumed ([`Internal::SinkConsumed`]); credit is granted for consumed
//! bytes only, so at most one window per transfer waits in the queue. Socket reads and
//! framing (I/O thread) thus overlap with page-cache writes, page faults and hashing
//! (drainer), and a slow disk slows the sender instead of the I/O thread.
//!
//! One drainer runs per transfer at a time, started when its queue goes from empty to not
//! empty, so chunks are handled in order and several transfers proceed in parallel.
//! Discarding takes the sink's lock, so it waits for the chunk being written (at most one)
//! and leaves nothing on disk when it returns.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc::UnboundedSender;

use super::names::{create_partial, reserve_unique};
use crate::client::Internal;
use crate::ErrorCode;

/// What an incoming transfer's bytes are written to.
enum Store {
    Buffer(Vec<u8>),
    File {
        file: File,
        partial: PathBuf,
        /// Where the verified file was moved to (before the app is told).
        done: Option<PathBuf>,
    },
}

/// Work for the drainer, in arrival order.
enum Job {
    Write(Bytes),
    /// Everything arrived: verify against `digest`, fix the file's length to `total` and
    /// move it to its final name (`name`, made unique, in `tmp_dir`).
    Finish {
        digest: String,
        total: u64,
        tmp_dir: PathBuf,
        name: String,
    },
}

/// The sink's contents; locked by the drainer while it handles a job.
struct State {
    store: Store,
    hasher: blake3::Hasher,
    /// Set by [`Sink::discard`]: the drainer skips whatever is still queued.
    discarded: bool,
}

struct Queue {
    jobs: VecDeque<Job>,
    /// A drainer is running (it clears this when it finds the queue empty).
    draining: bool,
}

struct Shared {
    transfer_id: String,
    queue: Mutex<Queue>,
    state: Mutex<State>,
    internal: UnboundedSender<Internal>,
}

/// The receiving end of one transfer's bytes. Dropping it without [`Sink::discard`] or
/// [`Sink::take`] leaves files on disk; the engine always does one or the other.
pub struct Sink {
    shared: Arc<Shared>,
    /// Kept here so that asking never waits for the drainer's lock.
    is_buffer: bool,
}

/// What a finished sink holds for the app.
pub enum Received {
    Buffer(Vec<u8>),
    /// The final path of the verified file.
    File(PathBuf),
}

impl Sink {
    /// A sink into memory, with room for `total` bytes.
    pub fn buffer(transfer_id: &str, total: u64, internal: UnboundedSender<Internal>) -> Sink {
        Sink::new(
            transfer_id,
            Store::Buffer(Vec::with_capacity(total as usize)),
            internal,
        )
    }

    /// A sink into a new hidden partial file in `tmp_dir`. Errors: `FILE_WRITE_ERR`.
    pub fn file(
        transfer_id: &str,
        tmp_dir: &Path,
        internal: UnboundedSender<Internal>,
    ) -> Result<Sink, ErrorCode> {
        std::fs::create_dir_all(tmp_dir).map_err(|_| ErrorCode::FileWriteErr)?;
        let (file, partial) = create_partial(tmp_dir).map_err(|_| ErrorCode::FileWriteErr)?;
        let store = Store::File {
            file,
            partial,
            done: None,
        };
        Ok(Sink::new(transfer_id, store, internal))
    }

    fn new(transfer_id: &str, store: Store, internal: UnboundedSender<Internal>) -> Sink {
        Sink {
            is_buffer: matches!(store, Store::Buffer(_)),
            shared: Arc::new(Shared {
                transfer_id: transfer_id.to_owned(),
                queue: Mutex::new(Queue {
                    jobs: VecDeque::new(),
                    draining: false,
                }),
                state: Mutex::new(State {
                    store,
                    hasher: blake3::Hasher::new(),
                    discarded: false,
                }),
                internal,
            }),
        }
    }

    /// Queues the next chunk; [`Internal::SinkConsumed`] follows once it is written.
    pub fn write(&self, chunk: Bytes) {
        self.push(Job::Write(chunk));
    }

    /// Queues the end: [`Internal::SinkFinished`] follows, `Ok` once the bytes match
    /// `digest` and a file is at its final, unique name in `tmp_dir`; `ERR_DATA` for a
    /// digest mismatch, `FILE_WRITE_ERR` when the file cannot be completed.
    pub fn finish(&self, digest: String, total: u64, tmp_dir: PathBuf, name: String) {
        self.push(Job::Finish {
            digest,
            total,
            tmp_dir,
            name,
        });
    }

    fn push(&self, job: Job) {
        let mut queue = self.shared.queue.lock();
        queue.jobs.push_back(job);
        if !queue.draining {
            queue.draining = true;
            let shared = self.shared.clone();
            tokio::task::spawn_blocking(move || shared.drain());
        }
    }

    /// Whether this sink is for a buffer.
    pub fn is_buffer(&self) -> bool {
        self.is_buffer
    }

    /// The finished contents (after `SinkFinished(Ok)`); the sink is spent.
    pub fn take(self) -> Received {
        let mut state = self.shared.state.lock();
        state.discarded = true;
        match std::mem::replace(&mut state.store, Store::Buffer(Vec::new())) {
            Store::Buffer(data) => Received::Buffer(data),
            Store::File { done, partial, .. } => Received::File(done.unwrap_or(partial)),
        }
    }

    /// Drops what arrived and removes whatever reached the disk (partial or final file).
    /// Waits for the chunk being written, if any.
    pub fn discard(self) {
        self.shared.queue.lock().jobs.clear();
        let mut state = self.shared.state.lock();
        state.discarded = true;
        if let Store::File {
            file,
            partial,
            done,
        } = std::mem::replace(&mut state.store, Store::Buffer(Vec::new()))
        {
            drop(file); // closed first: some systems cannot remove an open file
            let _ = std::fs::remove_file(&partial);
            if let Some(done) = done {
                let _ = std::fs::remove_file(done);
            }
        }
    }
}

impl Shared {
    /// Handles queued jobs until the queue is empty (on the blocking pool).
    fn drain(&self) {
        loop {
            let job = {
                let mut queue = self.queue.lock();
                match queue.jobs.pop_front() {
                    Some(job) => job,
                    None => {
                        queue.draining = false;
                        return;
                    }
                }
            };
            let mut state = self.state.lock();
            if state.discarded {
                continue;
            }
            let report = match job {
                Job::Write(chunk) => match state.write(&chunk) {
                    Ok(()) => Internal::SinkConsumed {
                        transfer_id: self.transfer_id.clone(),
                        bytes: chunk.len() as u64,
                    },
                    Err(code) => {
                        // Nothing more is written; the engine fails the transfer.
                        state.discarded = true;
                        Internal::SinkFinished {
                            transfer_id: self.transfer_id.clone(),
                            result: Err(code),
                        }
                    }
                },
                Job::Finish {
                    digest,
                    total,
                    tmp_dir,
                    name,
                } => Internal::SinkFinished {
                    transfer_id: self.transfer_id.clone(),
                    result: state.finish(&digest, total, &tmp_dir, &name),
                },
            };
            drop(state);
            if self.internal.send(report).is_err() {
                return; // the engine is gone
            }
        }
    }
}

impl State {
    fn write(&mut self, chunk: &[u8]) -> Result<(), ErrorCode> {
        match &mut self.store {
            Store::Buffer(data) => data.extend_from_slice(chunk),
            Store::File { file, .. } => {
                // Zero runs are skipped rather than written, so sparse files stay sparse;
                // `finish` fixes the length.
                let written = if chunk.iter().all(|&b| b == 0) {
                    file.seek(SeekFrom::Current(chunk.len() as i64)).map(|_| ())
                } else {
                    file.write_all(chunk)
                };
                written.map_err(|_| ErrorCode::FileWriteErr)?;
            }
        }
        self.hasher.update(chunk);
        Ok(())
    }

    fn finish(
        &mut self,
        digest: &str,
        total: u64,
        tmp_dir: &Path,
        name: &str,
    ) -> Result<(), ErrorCode> {
        if self.hasher.finalize().to_hex().as_str() != digest {
            return Err(ErrorCode::ErrData);
        }
        if let Store::File {
            file,
            partial,
            done,
        } = &mut self.store
        {
            file.set_len(total).map_err(|_| ErrorCode::FileWriteErr)?;
            file.flush().map_err(|_| ErrorCode::FileWriteErr)?;
            let target = reserve_unique(tmp_dir, name).map_err(|_| ErrorCode::FileWriteErr)?;
            if std::fs::rename(&*partial, &target).is_err() {
                let _ = std::fs::remove_file(&target);
                return Err(ErrorCode::FileWriteErr);
            }
            *done = Some(target);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("crvideo-sink-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn digest(data: &[u8]) -> String {
        blake3::hash(data).to_hex().to_string()
    }

    /// The next report, skipping consumption reports (their total is returned too).
    async fn finished(rx: &mut UnboundedReceiver<Internal>) -> (u64, Result<(), ErrorCode>) {
        let mut consumed = 0;
        loop {
            match rx.recv().await.expect("the sink reports") {
                Internal::SinkConsumed { bytes, .. } => consumed += bytes,
                Internal::SinkFinished { result, .. } => return (consumed, result),
                _ => panic!("unexpected report"),
            }
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn a_verified_file_lands_under_its_name_and_nothing_else_remains() {
        runtime().block_on(async {
            let dir = scratch("ok");
            let (tx, mut rx) = unbounded_channel();
            let sink = Sink::file("t1", &dir, tx).unwrap();
            let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
            let mut chunks = Bytes::from(data.clone());
            while !chunks.is_empty() {
                sink.write(chunks.split_to(chunks.len().min(65536)));
            }
            sink.finish(
                digest(&data),
                data.len() as u64,
                dir.clone(),
                "a.bin".into(),
            );
            assert_eq!(finished(&mut rx).await, (data.len() as u64, Ok(())));
            let Received::File(path) = sink.take() else {
                panic!("a file sink")
            };
            assert_eq!(path, dir.join("a.bin"));
            assert_eq!(std::fs::read(&path).unwrap(), data);
            assert_eq!(
                std::fs::read_dir(&dir).unwrap().count(),
                1,
                "no partial left"
            );
            std::fs::remove_dir_all(&dir).unwrap();
        });
    }

    #[test]
    fn a_wrong_digest_is_err_data() {
        runtime().block_on(async {
            let (tx, mut rx) = unbounded_channel();
            let sink = Sink::buffer("t2", 3, tx);
            sink.write(Bytes::from_static(b"abc"));
            sink.finish(digest(b"abd"), 3, PathBuf::new(), String::new());
            assert_eq!(finished(&mut rx).await, (3, Err(ErrorCode::ErrData)));
        });
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failing_write_ends_the_transfer_with_file_write_err() {
        runtime().block_on(async {
            let dir = scratch("full");
            std::fs::create_dir_all(&dir).unwrap();
            let partial = dir.join("partial");
            std::fs::write(&partial, b"").unwrap();
            // Every write to /dev/full fails (ENOSPC), like a full disk.
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap();
            let store = Store::File {
                file,
                partial: partial.clone(),
                done: None,
            };
            let (tx, mut rx) = unbounded_channel();
            let sink = Sink::new("t4", store, tx);
            sink.write(Bytes::from_static(b"data"));
            sink.write(Bytes::from_static(b"more"));
            sink.finish(digest(b"datamore"), 8, dir.clone(), "x.bin".into());
            assert_eq!(finished(&mut rx).await, (0, Err(ErrorCode::FileWriteErr)));
            // The drainer went through the rest of the queue without reporting anything.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while sink.shared.queue.lock().draining {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the drainer never ended"
                );
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            assert!(rx.try_recv().is_err());
            sink.discard();
            assert!(!partial.exists(), "the partial file is removed");
            std::fs::remove_dir_all(&dir).unwrap();
        });
    }

    #[test]
    fn discarding_with_chunks_queued_leaves_nothing_on_disk() {
        runtime().block_on(async {
            let dir = scratch("discard");
            let (tx, _rx) = unbounded_channel();
            let sink = Sink::file("t3", &dir, tx).unwrap();
            let chunk = Bytes::from(vec![7u8; 256 * 1024]);
            for _ in 0..64 {
                sink.write(chunk.clone());
            }
            sink.finish(String::new(), 0, dir.clone(), "never.bin".into());
            sink.discard();
            // Returned: the drainer is past any write in progress and skips the rest.
            assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
            std::fs::remove_dir_all(&dir).unwrap();
        });
    }
}
