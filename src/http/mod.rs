//! HTTP(S) file transfer (API.md section 11): downloads and uploads the app asks for with
//! `CRVideo_StartTransferFile`, in the background, at most [`MAX_RUNNING`] at once.
//!
//! - `mod.rs`: [`Http`], the instance's table of transfers (records, the queue, what runs);
//! - `spec.rs`: the app's `fileInfoJson`;
//! - `job.rs`: one run of a transfer (its stop signal, stall timeout, reports);
//! - `download.rs`, `upload.rs`: the two kinds of run;
//! - `client.rs`: the shared reqwest client (the SDK's TLS settings, redirects);
//! - `files.rs`: the hidden partial file, its writer thread, reading an upload's source;
//! - `rate.rs`: the rate limits; `progress.rs`: stall detection and progress pacing;
//! - `outcome.rs`: `FileFinished`'s codes.
//!
//! Transfers run as tasks on the `crvideo-io` runtime (their disk work on its blocking
//! pool), so `CRVideo_Uninit`, which stops that runtime, ends them all: no callback follows
//! and no thread is left. They need no login. Every event is pushed under the table's lock
//! after checking that the run reporting it is still the record's current one, so a
//! cancelled or removed run can say nothing more.

mod client;
mod download;
mod files;
mod job;
mod outcome;
mod progress;
mod rate;
pub mod spec;
mod upload;

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use parking_lot::Mutex;
use serde_json::json;
use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::client::handshake::TlsSettings;
use crate::dispatch::Dispatcher;
use crate::event::Event;
use crate::ErrorCode;
use job::Job;
use outcome::Rslt;
use rate::RateLimit;
use spec::{Direction, TransferSpec};

/// Transfers running at once; the others wait in the queue (state 1), in order.
pub const MAX_RUNNING: usize = 3;

/// How long Cancel and RmTransferInfo wait for a stopped run to let go of its files.
const LET_GO: Duration = Duration::from_secs(10);

/// A transfer's state, as `FileStateChanged` and the JSON say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// 0: not started, or cancelled.
    NotStarted = 0,
    /// 1: waiting for one of the [`MAX_RUNNING`] places.
    Queued = 1,
    /// 2: bytes are moving.
    Transferring = 2,
    /// 3: over (`FileFinished` said how).
    Finished = 3,
}

/// What the SDK remembers of a transfer until `CRVideo_RmTransferInfo`.
struct Record {
    spec: Arc<TransferSpec>,
    state: State,
    finished: u64,
    total: u64,
    /// Order of first start (`CRVideo_GetAllTransferInfos` lists in this order).
    order: u64,
    /// The current run: events of any other are stale.
    run: u64,
    /// Stops the current run (while it is [`State::Transferring`]).
    stop: Option<watch::Sender<bool>>,
}

#[derive(Default)]
struct Table {
    records: HashMap<String, Record>,
    waiting: VecDeque<String>,
    running: usize,
    next_order: u64,
    next_run: u64,
    /// Per file, held by a run for as long as it touches its files, so that the next run
    /// of the same file (after a cancel) starts only when the last one let go.
    files: HashMap<String, Arc<tokio::sync::Mutex<()>>>,
    /// Uninit has begun: nothing starts any more.
    closed: bool,
}

/// What every run shares.
struct Shared {
    runtime: Handle,
    dispatcher: Arc<Dispatcher>,
    tls: TlsSettings,
    client: OnceLock<Result<reqwest::Client, Rslt>>,
    /// No byte moved for this long: FileFinished 4.
    stall: Duration,
    uploads: RateLimit,
    downloads: RateLimit,
    table: Mutex<Table>,
}

/// The instance's HTTP transfers.
pub struct Http {
    shared: Arc<Shared>,
}

impl Http {
    /// Transfers run on `runtime`; their events go to `dispatcher`; https verifies as the
    /// SDK connection does (`tls`: the Init key `caFile`, or the system's roots).
    pub fn new(
        runtime: Handle,
        dispatcher: Arc<Dispatcher>,
        tls: TlsSettings,
        stall: Duration,
    ) -> Http {
        Http {
            shared: Arc::new(Shared {
                runtime,
                dispatcher,
                tls,
                client: OnceLock::new(),
                stall,
                uploads: RateLimit::default(),
                downloads: RateLimit::default(),
                table: Mutex::new(Table::default()),
            }),
        }
    }

    /// `CRVideo_StartTransferFile` once `fileInfoJson` parsed: returns at once; the
    /// outcome comes through the callbacks.
    pub fn start(&self, spec: TransferSpec) -> Result<(), ErrorCode> {
        let shared = &self.shared;
        // Built at the first start, on the app's thread (it may read the system's roots).
        let client = shared.client();
        let mut table = shared.table.lock();
        if table.closed {
            return Err(ErrorCode::NotInit);
        }
        let name = spec.name.clone();
        let refuse = |rslt: Rslt| {
            shared.dispatcher.push(Event::FileFinished {
                file_name: name.clone(),
                rslt: rslt.code(),
            });
            Ok(())
        };
        if let Some(record) = table.records.get(&name) {
            if matches!(record.state, State::Queued | State::Transferring) {
                return refuse(Rslt::Busy);
            }
        }
        if !client::supported_url(&spec.url) {
            return refuse(Rslt::BadUrl);
        }
        let carried = match spec.multipart {
            true => client::valid_field_names(&spec.ext_params),
            false => client::valid_headers(&spec.ext_params),
        };
        if !carried {
            return refuse(Rslt::Param);
        }
        if let Err(rslt) = client {
            return refuse(rslt);
        }
        let run = table.next_run;
        table.next_run += 1;
        let order = match table.records.get(&name) {
            Some(old) => old.order,
            None => {
                table.next_order += 1;
                table.next_order
            }
        };
        let (finished, total) = match table.records.get(&name) {
            Some(old) if old.spec.url == spec.url && old.spec.direction == spec.direction => {
                (old.finished, old.total)
            }
            _ => (0, 0),
        };
        table.records.insert(
            name.clone(),
            Record {
                spec: Arc::new(spec),
                state: State::Queued,
                finished,
                total,
                order,
                run,
                stop: None,
            },
        );
        if table.running < MAX_RUNNING {
            shared.launch(&mut table, &name);
        } else {
            table.waiting.push_back(name.clone());
            shared.state_changed(&name, State::Queued);
        }
        Ok(())
    }

    /// `CRVideo_CancelFileTransfer`: a queued or running transfer goes back to state 0,
    /// keeping its record and (for a download) its partial file; returns once the run let
    /// go of its files. Not queued or running: nothing to do.
    pub fn cancel(&self, name: &str) -> Result<(), ErrorCode> {
        let shared = &self.shared;
        let (files, spec) = {
            let mut table = shared.table.lock();
            let record = table.records.get(name).ok_or(ErrorCode::TransIdInvalid)?;
            if !matches!(record.state, State::Queued | State::Transferring) {
                return Ok(());
            }
            let spec = record.spec.clone();
            let files = shared.halt(&mut table, name);
            if let Some(record) = table.records.get_mut(name) {
                record.state = State::NotStarted;
            }
            shared.state_changed(name, State::NotStarted);
            shared.pump(&mut table);
            (files, spec)
        };
        if let Some(files) = files {
            wait_until_free(&files);
            if spec.direction == Direction::Download {
                // What the next start resumes from.
                if let Ok(meta) = std::fs::metadata(files::partial_path(&spec.path)) {
                    let mut table = self.shared.table.lock();
                    if let Some(record) = table.records.get_mut(name) {
                        if record.state == State::NotStarted {
                            record.finished = meta.len();
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// `CRVideo_RmTransferInfo`: forgets the transfer (stopping it first if it is queued
    /// or running, without a callback); `remove_files` also deletes its local file (a
    /// download's result, or an upload's source) and a download's partial file.
    pub fn remove(&self, name: &str, remove_files: bool) -> Result<(), ErrorCode> {
        let (files, spec) = {
            let mut table = self.shared.table.lock();
            let spec = table
                .records
                .get(name)
                .ok_or(ErrorCode::TransIdInvalid)?
                .spec
                .clone();
            let files = self.shared.halt(&mut table, name);
            table.records.remove(name);
            self.shared.pump(&mut table);
            (files, spec)
        };
        if let Some(files) = files {
            wait_until_free(&files);
        }
        // The file's lock goes with its record once no run holds it (also when a run was
        // stopped just now: it let go above).
        let mut table = self.shared.table.lock();
        if !table.records.contains_key(name)
            && table
                .files
                .get(name)
                .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            table.files.remove(name);
        }
        drop(table);
        if remove_files {
            let mut paths = vec![spec.path.clone()];
            if spec.direction == Direction::Download {
                paths.push(files::partial_path(&spec.path));
            }
            for path in paths {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::info!(path = %path.display(), "cannot remove: {e}");
                        return Err(ErrorCode::FileWriteErr);
                    }
                }
            }
        }
        Ok(())
    }

    /// `CRVideo_GetTransferInfo`: the record's JSON object, or `TRANSID_INVALID`.
    pub fn info(&self, name: &str) -> Result<String, ErrorCode> {
        let table = self.shared.table.lock();
        let record = table.records.get(name).ok_or(ErrorCode::TransIdInvalid)?;
        Ok(record_json(record).to_string())
    }

    /// `CRVideo_GetAllTransferInfos`: every record, in the order of their first start.
    pub fn infos(&self) -> String {
        let table = self.shared.table.lock();
        let mut records: Vec<&Record> = table.records.values().collect();
        records.sort_by_key(|r| r.order);
        serde_json::Value::Array(records.into_iter().map(record_json).collect()).to_string()
    }

    /// `CRVideo_SetFileUploadRate` (`upload`) / `CRVideo_SetFileDownloadRate`: bytes per
    /// second across all transfers of that direction; 0 unlimited.
    pub fn set_rate(&self, upload: bool, bytes_per_sec: u64) {
        match upload {
            true => self.shared.uploads.set(bytes_per_sec),
            false => self.shared.downloads.set(bytes_per_sec),
        }
    }

    /// Uninit: nothing starts any more. (The runs end with the runtime they run on.)
    pub fn close(&self) {
        self.shared.table.lock().closed = true;
    }
}

fn record_json(record: &Record) -> serde_json::Value {
    json!({
        "fileName": record.spec.name,
        "state": record.state as i32,
        "finished": record.finished,
        "total": record.total,
        "httpUrl": record.spec.url,
    })
}

/// Waits (at most [`LET_GO`]) until no run holds `files`. Polls: the caller is an app
/// thread, which may be running a runtime of its own, so it cannot block on tokio.
fn wait_until_free(files: &tokio::sync::Mutex<()>) {
    let deadline = Instant::now() + LET_GO;
    while files.try_lock().is_err() {
        if Instant::now() >= deadline {
            tracing::warn!("an HTTP transfer did not stop within {LET_GO:?}");
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

impl Shared {
    /// Starts the run of `name` (its record is current and queued).
    fn launch(self: &Arc<Self>, table: &mut Table, name: &str) {
        let files = table.files.entry(name.to_owned()).or_default().clone();
        let Some(record) = table.records.get_mut(name) else {
            return;
        };
        let (stop, stopped) = watch::channel(false);
        record.state = State::Transferring;
        record.stop = Some(stop);
        let job = Arc::new(Job::new(
            self.clone(),
            record.spec.clone(),
            record.run,
            stopped,
        ));
        table.running += 1;
        self.state_changed(name, State::Transferring);
        self.runtime.spawn(run_job(job, files));
    }

    /// Starts queued transfers while there is room.
    fn pump(self: &Arc<Self>, table: &mut Table) {
        while table.running < MAX_RUNNING && !table.closed {
            let Some(name) = table.waiting.pop_front() else {
                return;
            };
            if table.records.get(&name).map(|r| r.state) == Some(State::Queued) {
                self.launch(table, &name);
            }
        }
    }

    /// Takes `name` out of the queue or stops its run (its later events are ignored):
    /// the file lock to wait for when a run was stopped. The caller pumps the queue.
    fn halt(&self, table: &mut Table, name: &str) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let run = table.next_run;
        let record = table.records.get_mut(name)?;
        match record.state {
            State::Queued => {
                table.waiting.retain(|n| n != name);
                None
            }
            State::Transferring => {
                if let Some(stop) = record.stop.take() {
                    let _ = stop.send(true);
                }
                record.run = run;
                table.next_run += 1;
                table.running -= 1;
                table.files.get(name).cloned()
            }
            State::NotStarted | State::Finished => None,
        }
    }

    fn state_changed(&self, name: &str, state: State) {
        self.dispatcher.push(Event::FileStateChanged {
            file_name: name.to_owned(),
            state: state as i32,
        });
    }

    /// Runs `report` on the record of `job`'s file if `job` is still its current run.
    fn report(&self, job: &Job, report: impl FnOnce(&mut Record) -> Option<Event>) {
        let mut table = self.table.lock();
        if let Some(record) = table.records.get_mut(&job.spec.name) {
            if record.run == job.run && record.state == State::Transferring {
                if let Some(event) = report(record) {
                    self.dispatcher.push(event);
                }
            }
        }
    }

    /// The run `job` ended with `rslt`: state 3, FileFinished, and the next queued starts.
    fn finish(self: &Arc<Self>, job: &Job, rslt: Rslt) {
        let mut table = self.table.lock();
        let name = &job.spec.name;
        let Some(record) = table.records.get_mut(name) else {
            return;
        };
        if record.run != job.run || record.state != State::Transferring {
            return;
        }
        record.state = State::Finished;
        record.stop = None;
        table.running -= 1;
        self.state_changed(name, State::Finished);
        self.dispatcher.push(Event::FileFinished {
            file_name: name.clone(),
            rslt: rslt.code(),
        });
        self.pump(&mut table);
    }

    fn client(&self) -> Result<reqwest::Client, Rslt> {
        self.client.get_or_init(|| client::build(&self.tls)).clone()
    }
}

/// Runs `job`, holding `files` while it touches the local files.
async fn run_job(job: Arc<Job>, files: Arc<tokio::sync::Mutex<()>>) {
    let _files = files.lock_owned().await;
    if job.is_stopped() {
        // Stopped while it waited for the previous run of its file: touch nothing.
        return;
    }
    // The stall clock starts when the run can start.
    job.activity.touch();
    let work = async {
        match job.spec.direction {
            Direction::Download => download::run(&job).await,
            Direction::Upload => upload::run(&job).await,
        }
    };
    // A panic (a bug) must not leave the transfer running for ever, holding a place.
    let rslt = AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            tracing::error!(file = %job.spec.name, "panic in an HTTP transfer");
            Some(Rslt::Internal)
        });
    if let Some(rslt) = rslt {
        job.finish(rslt);
    }
}
