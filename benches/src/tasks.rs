//! Many clients at once: limited concurrency, and a common start.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Barrier, Semaphore};
use tokio::task::JoinHandle;

use crate::BenchResult;

/// Runs `job(i)` for `i` in `0..count`, each as a task, at most `in_flight` at a time.
/// Returns their outputs in order and the time from the start to the end of the last one.
pub async fn spawn_limited<T, Fut>(
    count: usize,
    in_flight: usize,
    job: impl Fn(usize) -> Fut,
) -> BenchResult<(Vec<T>, Duration)>
where
    T: Send + 'static,
    Fut: Future<Output = BenchResult<T>> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(in_flight.max(1)));
    let start = Instant::now();
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let permit = limit.clone().acquire_owned().await;
        let permit = permit.map_err(|_| "semaphore closed")?;
        let fut = job(i);
        handles.push(tokio::spawn(async move {
            let output = fut.await?;
            let done = Instant::now();
            drop(permit);
            Ok((output, done))
        }));
    }
    let (outputs, last) = join_all(handles).await?;
    Ok((outputs, last.map_or(Duration::ZERO, |last| last - start)))
}

/// Spawns `jobs`, which start together once `before` has run (e.g. a CPU reading). Returns
/// what `before` returned, the outputs in order and the time from the start to the end of
/// the last job.
pub async fn at_once<T, B, Fut>(
    jobs: impl IntoIterator<Item = Fut>,
    before: impl FnOnce() -> BenchResult<B>,
) -> BenchResult<(B, Vec<T>, Duration)>
where
    T: Send + 'static,
    Fut: Future<Output = BenchResult<T>> + Send + 'static,
{
    let jobs: Vec<Fut> = jobs.into_iter().collect();
    let start = Arc::new(Barrier::new(jobs.len() + 1));
    let handles = jobs.into_iter().map(|job| {
        let start = start.clone();
        tokio::spawn(async move {
            start.wait().await;
            let output = job.await?;
            Ok((output, Instant::now()))
        })
    });
    let handles: Vec<_> = handles.collect();
    let before = before()?;
    start.wait().await;
    let t0 = Instant::now();
    let (outputs, last) = join_all(handles).await?;
    Ok((
        before,
        outputs,
        last.map_or(Duration::ZERO, |last| last - t0),
    ))
}

/// Awaits tasks that report when they ended; returns the outputs in order and the latest
/// end. The first error aborts the tasks not awaited yet.
async fn join_all<T>(
    mut handles: Vec<JoinHandle<BenchResult<(T, Instant)>>>,
) -> BenchResult<(Vec<T>, Option<Instant>)> {
    let mut outputs = Vec::with_capacity(handles.len());
    let mut last = None;
    for i in 0..handles.len() {
        let joined = (&mut handles[i])
            .await
            .map_err(|e| format!("task {i}: {e}"));
        match joined.and_then(|r| r) {
            Ok((output, done)) => {
                outputs.push(output);
                last = last.max(Some(done));
            }
            Err(e) => {
                handles[i..].iter().for_each(JoinHandle::abort);
                return Err(e);
            }
        }
    }
    Ok((outputs, last))
}
