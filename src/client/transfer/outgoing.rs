//! The sending side of a bulk transfer: its state, and the upload task that reads the source
//! and sends chunks as the receiver's credit allows.

use std::fs::File;
use std::sync::Arc;

use crvideo_proto::data::{chunk_header_len, encode_chunk};
use crvideo_proto::{encode, ClientFrame, Request};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::client::Internal;
use crate::dispatch::Event;
use crate::ErrorCode;

/// What is being sent.
pub enum Source {
    /// A copy of the app's buffer.
    Buffer(Arc<[u8]>),
    /// An open file, read at offsets (never whole in memory).
    File(Arc<File>),
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
                code,
                cookie: self.cookie.clone(),
            },
            None => Event::SendBufferRlst {
                task_id: task_id.to_owned(),
                code,
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
            sent: received as i64,
            total: self.total as i64,
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

/// Sends the whole source in chunks of at most `chunk` bytes, each only once the receiver's
/// credit covers it, hashing everything sent, then `TransferEnd` with the digest — in the
/// bulk lane too, so it cannot overtake the last chunks. Reports `UploadDone`: `Ok` when all
/// is sent, `SENDFILE_FILEINERROR` when the file cannot be read to its announced size.
pub async fn upload(
    transfer_id: String,
    source: Source,
    total: u64,
    chunk: usize,
    credit: Arc<Semaphore>,
    bulk: mpsc::Sender<Message>,
    done: mpsc::UnboundedSender<Internal>,
) {
    let mut hasher = blake3::Hasher::new();
    let mut offset = 0u64;
    let result = loop {
        if offset == total {
            let end = Request::TransferEnd {
                transfer_id: transfer_id.clone(),
                digest: hasher.finalize().to_hex().to_string(),
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
        let len = chunk.min((total - offset) as usize);
        let Ok(permit) = credit.acquire_many(len as u32).await else {
            return; // stopped
        };
        permit.forget();
        let frame = match read_chunk(&source, &transfer_id, offset, len).await {
            Ok(frame) => frame,
            Err(()) => break Err(ErrorCode::SendFileFileInError.code()),
        };
        hasher.update(&frame[chunk_header_len(&transfer_id)..]);
        if bulk.send(Message::Binary(frame.into())).await.is_err() {
            return; // the connection is gone; the engine ends the transfer
        }
        offset += len as u64;
    };
    let _ = done.send(Internal::UploadDone {
        transfer_id,
        result,
    });
}

/// The chunk frame for `len` bytes at `offset`, read straight into the frame's buffer.
async fn read_chunk(
    source: &Source,
    transfer_id: &str,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>, ()> {
    match source {
        Source::Buffer(data) => {
            let start = offset as usize;
            Ok(encode_chunk(transfer_id, offset, &data[start..start + len]))
        }
        Source::File(file) => {
            let file = file.clone();
            let mut frame = encode_chunk(transfer_id, offset, &[]);
            tokio::task::spawn_blocking(move || {
                let header = frame.len();
                frame.resize(header + len, 0);
                read_exact_at(&file, &mut frame[header..], offset).map(|()| frame)
            })
            .await
            .map_err(|_| ())?
            .map_err(|_| ())
        }
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}
