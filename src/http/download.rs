//! A download: GET into the hidden partial file (resuming it with `Range` when it holds
//! bytes already), renamed to `filePathName` once complete.

use reqwest::header::RANGE;
use reqwest::StatusCode;
use tokio::sync::mpsc;

use super::client::{self, content_range, head_text};
use super::files::{self, Batch, ToDisk, Writer};
use super::job::{halted, Job};
use super::outcome::{from_reqwest, Rslt};

/// Smallest piece a rate-limited download accounts at a time.
const MIN_PIECE: usize = 4 * 1024;

/// The body arrived whole: its length and the file's total size (0: unknown).
struct Fetched {
    bytes: u64,
    total: u64,
}

/// Runs the download: its `FileFinished` code, or `None` when it was stopped.
pub async fn run(job: &Job) -> Option<Rslt> {
    let target = job.spec.path.clone();
    let (file, have) = match files::blocking(move || files::open_partial(&target)).await {
        Ok(opened) => opened,
        Err(e) => {
            tracing::info!(file = %job.spec.name, "cannot start the download: {e}");
            return Some(Rslt::FileOp);
        }
    };
    let writer = Writer::spawn(file);
    let mut batch = Batch::default();
    let fetched = job
        .guarded(fetch(job, &writer.queue, &mut batch, have))
        .await;
    // What arrived is kept, however the run ended: a later start resumes after it.
    let flushed = batch.flush(&writer.queue).await;
    let written = writer.finish().await;
    let written = written.and_then(|len| match flushed {
        Ok(()) => Ok(len),
        Err(()) => Err(std::io::Error::other("writer stopped")),
    });
    let outcome = match fetched {
        Err(halt) => halted(halt),
        Ok(Err(rslt)) => Some(rslt),
        Ok(Ok(fetched)) => Some(match &written {
            Ok(len) if *len == fetched.bytes => {
                let target = job.spec.path.clone();
                match files::blocking(move || files::complete(&target)).await {
                    Ok(()) => {
                        job.progress(fetched.bytes, fetched.total, true);
                        return Some(Rslt::Ok);
                    }
                    Err(e) => {
                        tracing::info!(file = %job.spec.name, "cannot complete: {e}");
                        Rslt::FileOp
                    }
                }
            }
            Ok(len) => {
                tracing::warn!(file = %job.spec.name, len, "partial file of unexpected length");
                Rslt::FileOp
            }
            Err(e) => {
                tracing::info!(file = %job.spec.name, "cannot write: {e}");
                Rslt::FileOp
            }
        }),
    };
    // An empty partial file is no use for resuming: no litter.
    if matches!(written, Ok(0)) {
        let partial = files::partial_path(&job.spec.path);
        let _ = files::blocking(move || std::fs::remove_file(partial)).await;
    }
    outcome
}

/// Asks for the file (its rest when `have` bytes are there already) and queues the body
/// for the writer.
async fn fetch(
    job: &Job,
    disk: &mpsc::Sender<ToDisk>,
    batch: &mut Batch,
    have: u64,
) -> Result<Fetched, Rslt> {
    let client = job.client()?;
    let mut from = have;
    loop {
        let mut request = client::with_headers(client.get(&job.spec.url), &job.spec.ext_params);
        if from > 0 {
            request = request.header(RANGE, format!("bytes={from}-"));
        }
        let mut response = request.send().await.map_err(|e| from_reqwest(&e))?;
        job.activity.touch();
        let status = response.status();
        let resumed = match (from > 0, status) {
            (true, StatusCode::PARTIAL_CONTENT) => match content_range(&response) {
                Some((first, total)) if first == from => Some(total),
                // Not the rest we asked for: ask for the whole file.
                _ => None,
            },
            // The partial file is the whole file or more: ask for the whole file.
            (true, StatusCode::RANGE_NOT_SATISFIABLE) => None,
            _ => Some(0),
        };
        let Some(range_total) = resumed else {
            disk.send(ToDisk::Restart).await.map_err(|_| Rslt::FileOp)?;
            from = 0;
            continue;
        };
        job.header(head_text(&response));
        if !status.is_success() {
            return Err(Rslt::Http(status.as_u16()));
        }
        if from > 0 && status != StatusCode::PARTIAL_CONTENT {
            // A 200 answer to a Range request: the whole file again, from byte 0.
            disk.send(ToDisk::Restart).await.map_err(|_| Rslt::FileOp)?;
            from = 0;
        }
        let total = match (status, range_total) {
            (StatusCode::PARTIAL_CONTENT, t) if t > 0 => t,
            _ => response.content_length().map_or(0, |len| len + from),
        };
        job.position(from, total);
        let mut done = from;
        while let Some(mut chunk) = response.chunk().await.map_err(|e| from_reqwest(&e))? {
            job.activity.touch();
            // Under a rate limit, in pieces of a tenth of a second's worth, so that
            // progress moves steadily rather than a whole socket read at a time.
            let piece = match job.limit().get() {
                0 => usize::MAX,
                rate => usize::try_from(rate / 10)
                    .unwrap_or(usize::MAX)
                    .max(MIN_PIECE),
            };
            while !chunk.is_empty() {
                let now = chunk.split_to(piece.min(chunk.len()));
                let len = now.len();
                done += len as u64;
                batch.push(now, disk).await.map_err(|_| Rslt::FileOp)?;
                if job.progress_due() {
                    // What progress reports is on its way to the file: it survives a
                    // cancel, a stall or Uninit (the writer drains its queue).
                    batch.flush(disk).await.map_err(|_| Rslt::FileOp)?;
                    job.report_progress(done, total);
                }
                job.limit().take(len, &job.activity).await;
            }
        }
        return Ok(Fetched { bytes: done, total });
    }
}
