//! An upload: the file as a PUT body with `extParams` as headers, or (with
//! `extParamsTransfType` 1) a multipart/form-data POST with `extParams` as text fields and
//! the file as the part named `file`. The body is read from disk as the connection takes it, so progress, the
//! rate limit and the stall timeout follow what leaves the SDK.

use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::CONTENT_LENGTH;
use reqwest::multipart::{Form, Part};
use reqwest::Body;

use super::client::{self, head_text};
use super::files;
use super::job::{halted, Job};
use super::outcome::{from_reqwest, Rslt};
use crate::client::transfer::outgoing::read_exact_at;

/// Largest chunk read from the file at once.
const CHUNK: usize = 256 * 1024;
/// Smallest chunk, when a low rate limit asks for small ones.
const MIN_CHUNK: usize = 16 * 1024;
/// The part of the server's answer handed to the app (FileHttpRspContent); the rest is
/// read and dropped.
const MAX_CONTENT: usize = 1 << 20;

/// Runs the upload: its `FileFinished` code, or `None` when it was stopped.
pub async fn run(job: &Arc<Job>) -> Option<Rslt> {
    let path = job.spec.path.clone();
    let opened = files::blocking(move || {
        let file = File::open(&path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(std::io::Error::other("not a file"));
        }
        Ok((file, meta.len()))
    })
    .await;
    let (file, len) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            tracing::info!(file = %job.spec.name, "cannot read the file to upload: {e}");
            return Some(Rslt::FileOp);
        }
    };
    let unreadable = Arc::new(AtomicBool::new(false));
    let body = body(job.clone(), file, len, unreadable.clone());
    match job.guarded(send(job, body, len)).await {
        Err(halt) => halted(halt),
        // The body failed because the file did: that is what the app must hear.
        Ok(Err(_)) if unreadable.load(Ordering::Relaxed) => Some(Rslt::FileOp),
        Ok(Err(rslt)) => Some(rslt),
        Ok(Ok(())) => {
            job.progress(len, len, true);
            Some(Rslt::Ok)
        }
    }
}

/// The file as a stream of chunks, each read when the connection wants it; fewer bytes
/// than `len` (the file shrank) or a read error fails the body and sets `unreadable`.
fn body(job: Arc<Job>, file: File, len: u64, unreadable: Arc<AtomicBool>) -> Body {
    struct Source {
        job: Arc<Job>,
        file: Arc<File>,
        sent: u64,
        len: u64,
        unreadable: Arc<AtomicBool>,
    }
    let source = Source {
        job,
        file: Arc::new(file),
        sent: 0,
        len,
        unreadable,
    };
    let chunks = futures_util::stream::unfold(source, |mut src| async move {
        if src.sent >= src.len {
            return None;
        }
        let rate = src.job.limit().get() as usize;
        let size = match rate {
            0 => CHUNK,
            rate => (rate / 10).clamp(MIN_CHUNK, CHUNK),
        };
        let size = size.min((src.len - src.sent) as usize);
        // The transparent channel's reader: at an offset, into unfilled memory, and
        // `UnexpectedEof` when the file shrank.
        let (file, offset) = (src.file.clone(), src.sent);
        let chunk: Result<Bytes, std::io::Error> = files::blocking(move || {
            let mut buf = Vec::new();
            read_exact_at(&file, &mut buf, size, offset)?;
            Ok(Bytes::from(buf))
        })
        .await;
        match chunk {
            Ok(bytes) => {
                src.job.activity.touch();
                src.job.limit().take(bytes.len(), &src.job.activity).await;
                src.sent += bytes.len() as u64;
                src.job.progress(src.sent, src.len, false);
                Some((Ok(bytes), src))
            }
            Err(e) => {
                src.unreadable.store(true, Ordering::Relaxed);
                // Ends the stream after this error.
                src.sent = src.len;
                Some((Err(e), src))
            }
        }
    });
    Body::wrap_stream(chunks)
}

/// Sends the request and reads the answer: `FileHttpRspHeader`, `FileHttpRspContent`,
/// then success for a 2xx status.
async fn send(job: &Job, body: Body, len: u64) -> Result<(), Rslt> {
    let client = job.client()?;
    let spec = &job.spec;
    let request = if spec.multipart {
        let file_name = spec
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let part = Part::stream_with_length(body, len)
            .file_name(file_name)
            .mime_str("application/octet-stream")
            .map_err(|_| Rslt::Internal)?;
        // Field names as they are (checked at the start), not RFC 7578's forbidden `name*=`.
        let mut form = Form::new().percent_encode_noop();
        for (name, value) in &spec.ext_params {
            form = form.text(name.clone(), value.clone());
        }
        client.post(&spec.url).multipart(form.part("file", part))
    } else {
        client::with_headers(client.put(&spec.url), &spec.ext_params)
            .header(CONTENT_LENGTH, len)
            .body(body)
    };
    let mut response = request.send().await.map_err(|e| from_reqwest(&e))?;
    job.activity.touch();
    job.header(head_text(&response));
    let status = response.status();
    let mut content = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| from_reqwest(&e))? {
        job.activity.touch();
        let room = MAX_CONTENT - content.len();
        content.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    job.content(String::from_utf8_lossy(&content).into_owned());
    if status.is_success() {
        Ok(())
    } else {
        Err(Rslt::Http(status.as_u16()))
    }
}
