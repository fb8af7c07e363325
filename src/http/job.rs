//! One run of a transfer: from its start (state 2) to its FileFinished, or until it is
//! stopped (Cancel, RmTransferInfo) or the runtime ends (Uninit).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use super::outcome::Rslt;
use super::progress::{Activity, Pace};
use super::spec::{Direction, TransferSpec};
use super::Shared;
use crate::event::Event;

/// Why a run ended before its work did.
pub enum Halt {
    /// Cancelled or removed: it says nothing more.
    Stopped,
    /// Nothing moved for the stall timeout.
    Stalled,
}

pub struct Job {
    shared: Arc<Shared>,
    pub spec: Arc<TransferSpec>,
    /// Which run of the record this is.
    pub run: u64,
    stopped: watch::Receiver<bool>,
    pub activity: Activity,
    pace: Pace,
    /// `finished` of the last FileProgress (`u64::MAX`: none yet).
    reported: AtomicU64,
}

impl Job {
    /// Whether the run was stopped (cancel, remove, Uninit).
    pub(super) fn is_stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Ends the run with `rslt` (FileFinished, the queue moves on).
    pub(super) fn finish(&self, rslt: Rslt) {
        self.shared.finish(self, rslt);
    }

    pub(super) fn new(
        shared: Arc<Shared>,
        spec: Arc<TransferSpec>,
        run: u64,
        stopped: watch::Receiver<bool>,
    ) -> Job {
        Job {
            shared,
            spec,
            run,
            stopped,
            activity: Activity::new(),
            pace: Pace::new(),
            reported: AtomicU64::new(u64::MAX),
        }
    }

    pub fn client(&self) -> Result<reqwest::Client, Rslt> {
        self.shared.client()
    }

    /// Waits for `work` unless the run is stopped or stalls first.
    pub async fn guarded<T>(&self, work: impl Future<Output = T>) -> Result<T, Halt> {
        let mut stopped = self.stopped.clone();
        tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => Err(Halt::Stopped),
            _ = self.activity.stalled(self.shared.stall) => Err(Halt::Stalled),
            done = work => Ok(done),
        }
    }

    /// The rate limit of this run's direction.
    pub fn limit(&self) -> &super::rate::RateLimit {
        match self.spec.direction {
            Direction::Download => &self.shared.downloads,
            Direction::Upload => &self.shared.uploads,
        }
    }

    /// `finished` of `total` bytes (0: unknown) moved: FileProgress when one is due
    /// (`last`: always, the final one).
    pub fn progress(&self, finished: u64, total: u64, last: bool) {
        // The final report is not repeated when the last one said the same.
        let said = self.reported.load(Ordering::Relaxed) == finished;
        if self.pace.due() || (last && !said) {
            self.report_progress(finished, total);
        }
    }

    /// True when a FileProgress is due (and counts it as given: the caller reports it).
    pub fn progress_due(&self) -> bool {
        self.pace.due()
    }

    /// FileProgress now: `finished` of `total` bytes (0: unknown).
    pub fn report_progress(&self, finished: u64, total: u64) {
        self.reported.store(finished, Ordering::Relaxed);
        self.shared.report(self, |record| {
            record.finished = finished;
            record.total = total;
            Some(Event::FileProgress {
                file_name: record.spec.name.clone(),
                finised_size: i64::try_from(finished).unwrap_or(i64::MAX),
                total_size: i64::try_from(total).unwrap_or(i64::MAX),
            })
        });
    }

    /// The head of the final response: FileHttpRspHeader.
    pub fn header(&self, head: String) {
        self.shared.report(self, |record| {
            Some(Event::FileHttpRspHeader {
                file_name: record.spec.name.clone(),
                rsp_header: head,
            })
        });
    }

    /// An upload's response body: FileHttpRspContent.
    pub fn content(&self, content: String) {
        self.shared.report(self, |record| {
            Some(Event::FileHttpRspContent {
                file_name: record.spec.name.clone(),
                content,
            })
        });
    }

    /// Records where the transfer stands without telling the app (a resumed download's
    /// starting point).
    pub fn position(&self, finished: u64, total: u64) {
        self.shared.report(self, |record| {
            record.finished = finished;
            record.total = total;
            None
        });
    }
}

/// `rslt` unless `halt` says otherwise: `None` for a stopped run.
pub fn halted(halt: Halt) -> Option<Rslt> {
    match halt {
        Halt::Stopped => None,
        Halt::Stalled => Some(Rslt::Timeout),
    }
}
