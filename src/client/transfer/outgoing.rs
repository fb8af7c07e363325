//! The sending side of a bulk transfer: its state, and the upload task that reads the source
//! and sends chunks as the receiver's credit allows.

use std::fs::File;
use std::sync::Arc;

use crvideo_proto::data::{chunk_header_len, encode_chunk};
use crvideo_proto::{encode, ClientFrame, Request};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::filling::FillingBuffer;
use super::lent::LentBuffer;
use crate::client::Internal;
use crate::dispatch::Event;
use crate::ErrorCode;

/// What is being sent.
pub enum Source {
    /// The SDK's copy of the app's buffer (filled while the transfer starts).
    Buffer(Arc<FillingBuffer>),
    /// An open file, read at offsets (never whole in memory).
    File(Arc<File>),
    /// The app's own buffer, lent until the transfer lets go of it (`SendBufferNoCopy`).
    Lent(LentBuffer),
}

/// The sender's view of one transfer.
pub struct Outgoing {
    /// For SendFile: the path the app gave (SendFileRlst repeats it); `None` for SendBuffer.
    pub file_name: Option<String>,
    pub cookie: String,
    pub total: u64,
    /// The highest `received` reported by SendProgress so far, if any was.
    pub reported: Option<u64>,
    /// Bytes the receiver allows us to send; the upload task takes from it.
    pub credit: Arc<Semaphore>,
    /// The source until the upload starts (at the first credit).
    pub source: Option<Source>,
    pub upload: Option<JoinHandle<()>>,
}

impl Outgoing {
    pub fn new(file_name: Option<String>, cookie: String, total: u64, source: Source) -> Outgoing {
        Outgoing {
            file_name,
            cookie,
            total,
            reported: None,
            credit: Arc::new(Semaphore::new(0)),
            source: Some(source),
            upload: None,
        }
    }

    /// The task's result callback: SendBufferRlst or SendFileRlst.
    pub fn result(&self, task_id: &str, code: i32) -> Event {
        match &self.file_name {
            Some(file_name) => Event::SendFileRlst {
                task_id: task_id.to_owned(),
                file_name: file_name.clone(),
                sdk_err: code,
                cookie: self.cookie.clone(),
            },
            None => Event::SendBufferRlst {
                task_id: task_id.to_owned(),
                sdk_err: code,
                cookie: self.cookie.clone(),
            },
        }
    }

    /// SendProgress for `received` bytes, unless no more than that was reported before: the
    /// app sees a strictly increasing series (starting when the receiver accepts).
    pub fn progress(&mut self, task_id: &str, received: u64) -> Option<Event> {
        let received = received.min(self.total);
        if self.reported.is_some_and(|r| r >= received) {
            return None;
        }
        self.reported = Some(received);
        Some(Event::SendProgress {
            task_id: task_id.to_owned(),
            sended_len: received as i64,
            total_len: self.total as i64,
            cookie: self.cookie.clone(),
        })
    }

    /// Stops sending (the transfer ended one way or another).
    pub fn stop(&mut self) {
        if let Some(upload) = self.upload.take() {
            upload.abort();
        }
        self.credit.close();
    }
}

impl Drop for Outgoing {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Chunks read ahead of the credit, waiting for it: enough to keep the socket busy while
/// the next ones are read and hashed, a megabyte per transfer at most.
const READ_AHEAD_CHUNKS: usize = 4;

/// Sends the whole source in chunks of at most `chunk` bytes, each only once the receiver's
/// credit covers it, then `TransferEnd` with the digest of everything sent — in the bulk
/// lane too, so it cannot overtake the last chunks. Reports `UploadDone`: `Ok` when all is
/// sent, `SENDFILE_FILEINERROR` when the file cannot be read to its announced size.
///
/// One thread of tokio's blocking pool reads (or copies) and hashes the chunks in order,
/// [`READ_AHEAD_CHUNKS`] ahead (see [`read_ahead`]), so the I/O thread only writes frames
/// and nobody waits for a thread to wake up per chunk. Aborting this task stops the reader
/// at its next chunk (its queue is gone), which then lets go of the source.
pub async fn upload(
    transfer_id: String,
    source: Source,
    total: u64,
    chunk: usize,
    credit: Arc<Semaphore>,
    bulk: mpsc::Sender<Message>,
    done: mpsc::UnboundedSender<Internal>,
) {
    let transfer_id: Arc<str> = transfer_id.into();
    let (frames_tx, mut frames) = mpsc::channel(READ_AHEAD_CHUNKS);
    let id = transfer_id.clone();
    tokio::task::spawn_blocking(move || read_ahead(&source, &id, total, chunk, &frames_tx));
    let result = loop {
        let Some(read) = frames.recv().await else {
            break Err(ErrorCode::SendFileFileInError.code()); // the reader panicked
        };
        let frame = match read {
            Ok(Read::Chunk(frame)) => frame,
            Ok(Read::Digest(digest)) => {
                let end = Request::TransferEnd {
                    transfer_id: transfer_id.to_string(),
                    digest,
                };
                let end = Message::text(encode(&ClientFrame {
                    id: 0,
                    request: end,
                }));
                if bulk.send(end).await.is_err() {
                    return;
                }
                break Ok(());
            }
            Err(()) => break Err(ErrorCode::SendFileFileInError.code()),
        };
        let len = frame.len() - chunk_header_len(&transfer_id);
        let Ok(permit) = credit.acquire_many(len as u32).await else {
            return; // stopped
        };
        permit.forget();
        if bulk.send(Message::Binary(frame.into())).await.is_err() {
            return; // the connection is gone; the engine ends the transfer
        }
    };
    let _ = done.send(Internal::UploadDone {
        transfer_id: transfer_id.to_string(),
        result,
    });
}

/// What the reader hands the upload: the next chunk frame, then the digest of them all.
enum Read {
    Chunk(Vec<u8>),
    Digest(String),
}

/// The upload's reader (on tokio's blocking pool): reads and hashes `total` bytes of the
/// source in chunks, in order, into `frames` (bounded: it waits while the upload is
/// [`READ_AHEAD_CHUNKS`] ahead), then the digest. Stops at the first error (sent on) or
/// when the upload is gone; the source is released when it returns.
fn read_ahead(
    source: &Source,
    transfer_id: &str,
    total: u64,
    chunk: usize,
    frames: &mpsc::Sender<Result<Read, ()>>,
) {
    let mut hasher = blake3::Hasher::new();
    let mut offset = 0u64;
    while offset < total {
        let len = chunk.min((total - offset) as usize);
        let read = read_chunk(source, transfer_id, offset, len);
        if let Ok(frame) = &read {
            hasher.update(&frame[chunk_header_len(transfer_id)..]);
        }
        let failed = read.is_err();
        if frames.blocking_send(read.map(Read::Chunk)).is_err() || failed {
            return;
        }
        offset += len as u64;
    }
    let digest = hasher.finalize().to_hex().to_string();
    let _ = frames.blocking_send(Ok(Read::Digest(digest)));
}

/// The chunk frame for `len` bytes at `offset`, read straight into the frame's buffer.
fn read_chunk(source: &Source, transfer_id: &str, offset: u64, len: usize) -> Result<Vec<u8>, ()> {
    match source {
        Source::Buffer(data) => {
            let mut frame = encode_chunk(transfer_id, offset, &[]);
            data.read_into(offset as usize, len, &mut frame)?;
            Ok(frame)
        }
        Source::Lent(lent) => {
            let bytes = lent.bytes().ok_or(())?;
            let (start, end) = (offset as usize, offset as usize + len);
            Ok(encode_chunk(
                transfer_id,
                offset,
                bytes.get(start..end).ok_or(())?,
            ))
        }
        Source::File(file) => {
            let mut frame = encode_chunk(transfer_id, offset, &[]);
            frame.reserve_exact(len);
            read_exact_at(file, &mut frame, len, offset).map_err(|_| ())?;
            Ok(frame)
        }
    }
}

/// Appends `len` bytes of `file` at `offset` to `buf`, read into its spare capacity (no
/// zero-filling first: these are the bulk of every file transfer). Where `off_t` is 64
/// bits; elsewhere the portable version below.
#[cfg(all(unix, target_pointer_width = "64"))]
pub(crate) fn read_exact_at(
    file: &File,
    buf: &mut Vec<u8>,
    len: usize,
    offset: u64,
) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let start = buf.len();
    buf.reserve_exact(len);
    let mut done = 0;
    while done < len {
        // The spare capacity starts after what was read so far.
        let spare = &mut buf.spare_capacity_mut()[..len - done];
        // SAFETY: pread writes at most `spare.len()` bytes into memory this Vec owns; the
        // length is only extended over bytes it reported as written.
        let n = unsafe {
            libc::pread(
                file.as_raw_fd(),
                spare.as_mut_ptr().cast(),
                spare.len(),
                (offset + done as u64) as libc::off_t,
            )
        };
        match n {
            n if n > 0 => {
                done += n as usize;
                // SAFETY: bytes start..start+done were written by pread above.
                unsafe { buf.set_len(start + done) };
            }
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            _ => {
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
    Ok(())
}

#[cfg(all(unix, not(target_pointer_width = "64")))]
pub(crate) fn read_exact_at(
    file: &File,
    buf: &mut Vec<u8>,
    len: usize,
    offset: u64,
) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let start = buf.len();
    buf.resize(start + len, 0);
    file.read_exact_at(&mut buf[start..], offset)
}

#[cfg(windows)]
pub(crate) fn read_exact_at(
    file: &File,
    buf: &mut Vec<u8>,
    len: usize,
    mut offset: u64,
) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    let start = buf.len();
    buf.resize(start + len, 0);
    let mut rest = &mut buf[start..];
    while !rest.is_empty() {
        match file.seek_read(rest, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                rest = &mut rest[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}
