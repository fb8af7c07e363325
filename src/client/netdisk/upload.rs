//! The task that sends one net-disk upload: the file in disk frames, each once the server's
//! progress leaves room in the window and the transfer is not paused, hashing (MD5) as it
//! reads; then `netdisk_upload_end` with the digest, behind the last frame in the bulk lane.

use std::fs::File;
use std::sync::Arc;

use crvideo_proto::data::encode_disk_chunk;
use crvideo_proto::{encode, ClientFrame, Request};
use md5::{Digest, Md5};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::{NetDiskReport, WINDOW_BYTES};
use crate::client::transfer::outgoing::read_exact_at;
use crate::client::Internal;
use crate::ErrorCode;

/// What one upload task sends.
pub struct UploadJob {
    pub file_id: String,
    pub key: String,
    pub file: Arc<File>,
    pub size: u64,
    /// Where the server asked to go on from (0, or what it holds after a reconnect).
    pub start: u64,
    pub chunk: usize,
    /// The server's `received`, from its progress events.
    pub received: watch::Receiver<u64>,
    pub paused: watch::Receiver<bool>,
    pub bulk: mpsc::Sender<Message>,
    pub done: mpsc::UnboundedSender<Internal>,
}

pub async fn upload(mut job: UploadJob) {
    let file = job.file.clone();
    let start = job.start;
    // A resumed upload's digest covers the bytes sent before too.
    let prefix = tokio::task::spawn_blocking(move || hash_prefix(&file, start)).await;
    let Ok(Ok(mut md5)) = prefix else {
        return failed(&job, ErrorCode::FileReadErr);
    };
    let mut offset = job.start;
    while offset < job.size {
        if job.paused.wait_for(|paused| !paused).await.is_err() {
            return;
        }
        let len = job.chunk.min((job.size - offset) as usize);
        let end = offset + len as u64;
        let room = |received: &u64| end <= received + WINDOW_BYTES;
        if job.received.wait_for(room).await.is_err() {
            return;
        }
        let (file, key) = (job.file.clone(), job.key.clone());
        let read = tokio::task::spawn_blocking(move || {
            let mut frame = encode_disk_chunk(&key, offset, &[]);
            let header = frame.len();
            read_exact_at(&file, &mut frame, len, offset)?;
            md5.update(&frame[header..]);
            Ok::<_, std::io::Error>((frame, md5))
        })
        .await;
        let Ok(Ok((frame, hasher))) = read else {
            return failed(&job, ErrorCode::FileReadErr);
        };
        md5 = hasher;
        if job.bulk.send(Message::Binary(frame.into())).await.is_err() {
            return; // the connection is gone: the engine resumes the upload on the next
        }
        offset = end;
    }
    let end = Request::NetdiskUploadEnd {
        file_id: job.file_id.clone(),
        md5: crvideo_proto::hex(&md5.finalize()),
    };
    let end = Message::text(encode(&ClientFrame {
        id: 0,
        request: end,
    }));
    let _ = job.bulk.send(end).await;
}

fn failed(job: &UploadJob, code: ErrorCode) {
    let _ = job
        .done
        .send(Internal::NetDisk(NetDiskReport::UploadFailed {
            key: job.key.clone(),
            code,
        }));
}

/// MD5 state after the first `len` bytes of `file`.
fn hash_prefix(file: &File, len: u64) -> std::io::Result<Md5> {
    let mut md5 = Md5::new();
    let mut buf = Vec::with_capacity(1 << 20);
    let mut offset = 0;
    while offset < len {
        let n = (1usize << 20).min((len - offset) as usize);
        buf.clear();
        read_exact_at(file, &mut buf, n, offset)?;
        md5.update(&buf);
        offset += n as u64;
    }
    Ok(md5)
}
