//! The local side of a transfer: a download's hidden partial file, the thread that writes
//! it and the reads of an upload's source, so that no disk wait ever happens on
//! `crvideo-io`: they run on that runtime's blocking pool (`crvideo-pool`).

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bytes of a body gathered before the writer thread is woken to write them. Small on
/// purpose, as is [`QUEUED_BATCHES`]: with little in flight the body's buffers are still in
/// the CPU's cache when the writer copies them to the page cache, and are reused rather
/// than given back and faulted in anew (1 MiB batches, 8 queued: 0.91 client CPU-s per
/// GiB; these: 0.58 to 0.69, curl 0.74; docs/BENCHMARKS.md).
const BATCH: usize = 256 * 1024;
/// Batches waiting for the writer.
const QUEUED_BATCHES: usize = 2;

/// Where a download to `target` grows until complete: `.<name>.crvpart` beside it.
pub fn partial_path(target: &Path) -> PathBuf {
    crate::files::hidden_beside(target, "crvpart")
}

/// Runs `work` on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|_| Err(io::Error::other("file task failed")))
}

/// Opens (creating) the partial file of a download to `target`, positioned at its end:
/// the file and how many bytes it already holds. Refuses when `target` exists (it is
/// never overwritten).
pub fn open_partial(target: &Path) -> io::Result<(File, u64)> {
    if target.symlink_metadata().is_ok() {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists));
    }
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(partial_path(target))?;
    let have = file.seek(SeekFrom::End(0))?;
    Ok((file, have))
}

/// Moves a complete download into place, unless something took the name meanwhile.
pub fn complete(target: &Path) -> io::Result<()> {
    crate::files::place_without_replacing(&partial_path(target), target)
}

/// What the writer is asked to do.
pub enum ToDisk {
    /// Append these bytes (a batch of the body's chunks, in order).
    Data(Vec<Bytes>),
    /// Empty the file (the server sent the whole file instead of the rest).
    Restart,
}

/// Chunks of a body gathered until they are worth a wake-up of the writer thread.
#[derive(Default)]
pub struct Batch {
    chunks: Vec<Bytes>,
    len: usize,
}

impl Batch {
    /// Adds `chunk`; hands the batch to the writer once it holds [`BATCH`] bytes. `Err`:
    /// the writer stopped (it could not write).
    pub async fn push(&mut self, chunk: Bytes, disk: &mpsc::Sender<ToDisk>) -> Result<(), ()> {
        self.len += chunk.len();
        self.chunks.push(chunk);
        if self.len >= BATCH {
            self.flush(disk).await?;
        }
        Ok(())
    }

    /// Hands what is gathered to the writer.
    pub async fn flush(&mut self, disk: &mpsc::Sender<ToDisk>) -> Result<(), ()> {
        if self.chunks.is_empty() {
            return Ok(());
        }
        self.len = 0;
        let chunks = std::mem::take(&mut self.chunks);
        disk.send(ToDisk::Data(chunks)).await.map_err(|_| ())
    }
}

/// The thread writing a download's partial file, fed through a bounded queue.
pub struct Writer {
    pub queue: mpsc::Sender<ToDisk>,
    thread: JoinHandle<io::Result<u64>>,
}

impl Writer {
    pub fn spawn(mut file: File) -> Writer {
        let (queue, mut batches) = mpsc::channel::<ToDisk>(QUEUED_BATCHES);
        let thread = tokio::task::spawn_blocking(move || {
            while let Some(batch) = batches.blocking_recv() {
                match batch {
                    // Straight from the body's buffers: the chunks are large already.
                    ToDisk::Data(chunks) => {
                        for chunk in chunks {
                            file.write_all(&chunk)?;
                        }
                    }
                    ToDisk::Restart => {
                        file.set_len(0)?;
                        file.seek(SeekFrom::Start(0))?;
                    }
                }
            }
            file.stream_position()
        });
        Writer { queue, thread }
    }

    /// Ends the queue and waits until everything queued is in the file: its length, or
    /// why it could not be written.
    pub async fn finish(self) -> io::Result<u64> {
        drop(self.queue);
        self.thread
            .await
            .unwrap_or_else(|_| Err(io::Error::other("writer failed")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partial_file_is_hidden_beside_the_target() {
        assert_eq!(
            partial_path(Path::new("/d/movie.mp4")),
            PathBuf::from("/d/.movie.mp4.crvpart")
        );
    }
}
