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
    let (limit, start) = (Arc::new(Semaphore::new(in_flight.max(1))), Instant::now());
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let permit = limit
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| "semaphore closed")?;
        let job = job(i);
        tasks.push(tokio::spawn(async move {
            let output = job.await?;
            drop(permit);
            Ok((output, Instant::now()))
        }));
    }
    timed(start, tasks).await
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
    let spawn = |job: Fut| {
        let start = start.clone();
        tokio::spawn(async move {
            start.wait().await;
            Ok((job.await?, Instant::now()))
        })
    };
    let tasks: Vec<_> = jobs.into_iter().map(spawn).collect();
    let before = before()?;
    start.wait().await;
    let (outputs, time) = timed(Instant::now(), tasks).await?;
    Ok((before, outputs, time))
}

/// Awaits tasks that tell when they ended: their outputs, and the time from `start` to the
/// last end.
async fn timed<T>(
    start: Instant,
    tasks: Vec<JoinHandle<BenchResult<(T, Instant)>>>,
) -> BenchResult<(Vec<T>, Duration)> {
    let outputs = join_tasks(tasks).await?;
    let last = outputs.iter().map(|(_, end)| *end).max().unwrap_or(start);
    Ok((
        outputs.into_iter().map(|(output, _)| output).collect(),
        last - start,
    ))
}

/// Awaits tasks in order; the first error aborts the tasks not awaited yet.
pub async fn join_tasks<T>(mut tasks: Vec<JoinHandle<BenchResult<T>>>) -> BenchResult<Vec<T>> {
    let mut outputs = Vec::with_capacity(tasks.len());
    for i in 0..tasks.len() {
        let joined = (&mut tasks[i]).await.map_err(|e| format!("task {i}: {e}"));
        match joined.and_then(|output| output) {
            Ok(output) => outputs.push(output),
            Err(e) => {
                tasks[i..].iter().for_each(JoinHandle::abort);
                return Err(e);
            }
        }
    }
    Ok(outputs)
}
