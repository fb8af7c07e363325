//! The net disk: per-tenant files with a quota, bodies in a [`storage::Storage`], rows in
//! the durable store ([`records`]).
//!
//! A file is listed only once complete and verified: an upload writes a partial object
//! (one writer per upload, in order, MD5 beside it), and at its end checks size and digest,
//! commits the object, records the row, and only then lists it. Quota: an upload reserves
//! its whole size when it starts (the tenant's stored bytes plus every reservation stay
//! within the quota, however many upload at once) and cannot write past it. After a crash,
//! start-up deletes every partial object and every object without a row.
//!
//! Downloads: one task per download reads the object and queues disk frames on the
//! session's bulk lane, only below the offset the client's credit allows.
//!
//! Lock order: `state` is taken alone (a session's lanes under it).

pub mod records;
pub mod s3;
mod sigv4;
pub mod storage;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use crvideo_proto::md5_thread::Md5Thread;
use crvideo_proto::netdisk::{parse_file_id, NetFileObj, FILE_TYPE_SHARED};
use crvideo_proto::{
    data::encode_disk_chunk, ErrorCode, Event, NetDiskDownloadStart, NetDiskList, NetDiskSummary,
    NetDiskUploadStart, ServerFrame,
};
use indexmap::IndexMap;
use md5::Md5;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tracing::{debug, info, warn};

use self::records::FileRecord;
use self::storage::{object_name, PartialObject, Storage, StoredObject};
use crate::directory::handle::SessionHandle;
use crate::directory::outbound::SessionId;
use crate::store::Store;

/// Largest disk frame payload the server sends.
pub const CHUNK_BYTES: usize = 256 * 1024;
/// Disk frames an upload may have waiting to be written; a client that sends more than its
/// window allows (see the SDK's) loses the upload.
const UPLOAD_QUEUE: usize = 256;
/// Frames between an upload's task and its writer.
const WRITER_QUEUE: usize = 4;
/// An upload's writer tells the client how far it got at least every this many bytes (and
/// at the end); the client's window (4 MiB) is several times this.
const PROGRESS_EVERY: u64 = 1024 * 1024;
/// Most downloads one session runs at once.
const MAX_DOWNLOADS_PER_SESSION: usize = 16;

/// One tenant's disk.
#[derive(Default)]
struct TenantDisk {
    /// Bytes of stored files.
    used: u64,
    /// Bytes reserved by uploads in progress.
    reserved: u64,
    /// Stored files by key, oldest first.
    files: IndexMap<String, FileRecord>,
}

/// An upload in progress.
struct Upload {
    session: SessionId,
    file_id: String,
    /// Tells uploads apart across a cancel and a new start of the same file.
    serial: u64,
    size: u64,
    /// Bytes written so far (where a resumed upload goes on from).
    written: Arc<AtomicU64>,
    jobs: mpsc::Sender<Job>,
}

enum Job {
    Chunk { offset: u64, data: Bytes },
    End { md5: String },
}

struct Download {
    credit: watch::Sender<u64>,
    task: tokio::task::AbortHandle,
}

#[derive(Default)]
struct State {
    tenants: HashMap<String, TenantDisk>,
    /// By (tenant, key).
    uploads: HashMap<(String, String), Upload>,
    /// By (session, key).
    downloads: HashMap<(SessionId, String), Download>,
    next_serial: u64,
}

/// What [`NetDisk::on_change`] calls with a tenant.
type ChangeHook = Box<dyn Fn(&str) + Send + Sync>;

pub struct NetDisk {
    quota: u64,
    storage: Arc<dyn Storage>,
    store: Store,
    state: Mutex<State>,
    /// Told the tenant whenever a file is stored or deleted (in a cluster whose nodes share
    /// the rows: they read the list again).
    on_change: std::sync::OnceLock<ChangeHook>,
}

/// What an upload task needs to know.
struct UploadCtx {
    serial: u64,
    object: String,
    written: Arc<AtomicU64>,
    record: FileRecord,
    to: SessionHandle,
}

impl UploadCtx {
    fn tenant(&self) -> &str {
        &self.record.tenant
    }

    fn key(&self) -> &str {
        &self.record.key
    }

    fn size(&self) -> u64 {
        self.record.obj.size as u64
    }
}

impl NetDisk {
    /// The net disk over `storage` and `store`: loads the file rows and cleans up what a
    /// crash left (partial objects, objects without a row; rows without an object are
    /// deleted).
    pub async fn open(
        quota: u64,
        storage: Arc<dyn Storage>,
        store: Store,
    ) -> Result<Arc<NetDisk>, String> {
        let rows = store
            .netdisk_files(None)
            .await
            .map_err(|e| format!("cannot load the net disk's files: {e}"))?;
        let mut tenants: HashMap<String, TenantDisk> = HashMap::new();
        let mut by_object = HashMap::new();
        for row in rows {
            by_object.insert(object_name(&row.tenant, &row.key), row.clone());
            let disk = tenants.entry(row.tenant.clone()).or_default();
            disk.used += row.obj.size as u64;
            disk.files.insert(row.key.clone(), row);
        }
        let keep: HashSet<String> = by_object.keys().cloned().collect();
        // Before the server serves anyone: blocking here delays only the start (and keeps
        // tokio's blocking pool, whose threads share the workers' name, empty at start).
        let (recovered, missing) = storage
            .recover(&keep)
            .map_err(|e| format!("cannot clean up the net disk's storage: {e}"))?;
        if recovered.partials + recovered.orphans > 0 {
            info!(
                partials = recovered.partials,
                orphans = recovered.orphans,
                "net disk: deleted what interrupted uploads left"
            );
        }
        for object in missing {
            let row = &by_object[&object];
            warn!(tenant = %row.tenant, file = %row.obj.file_id, "net disk: a listed file's body is missing: forgetting it");
            store
                .delete_netdisk_file(row.tenant.clone(), row.key.clone())
                .await
                .map_err(|e| format!("cannot forget a missing net-disk file: {e}"))?;
            if let Some(disk) = tenants.get_mut(&row.tenant) {
                disk.used -= row.obj.size as u64;
                disk.files.shift_remove(&row.key);
            }
        }
        Ok(Arc::new(NetDisk {
            quota,
            storage,
            store,
            state: Mutex::new(State {
                tenants,
                ..Default::default()
            }),
            on_change: std::sync::OnceLock::new(),
        }))
    }

    /// Calls `hook` with the tenant whenever one of its files is stored or deleted.
    pub fn on_change(&self, hook: impl Fn(&str) + Send + Sync + 'static) {
        let _ = self.on_change.set(Box::new(hook));
    }

    fn changed(&self, tenant: &str) {
        if let Some(hook) = self.on_change.get() {
            hook(tenant);
        }
    }

    /// Reads `tenant`'s files from the store again (another node stored or deleted one);
    /// this node's uploads in progress keep their reservations.
    pub async fn reload(&self, tenant: &str) {
        let rows = match self.store.netdisk_files(Some(tenant)).await {
            Ok(rows) => rows,
            Err(e) => {
                warn!(%tenant, "net disk: cannot read the files again: {e}");
                return;
            }
        };
        let mut state = self.state.lock().unwrap();
        let disk = state.tenants.entry(tenant.to_owned()).or_default();
        disk.used = rows.iter().map(|r| r.obj.size as u64).sum();
        disk.files = rows.into_iter().map(|r| (r.key.clone(), r)).collect();
    }

    pub fn summary(&self, me: &SessionHandle) -> NetDiskSummary {
        let state = self.state.lock().unwrap();
        let used = state.tenants.get(me.tenant()).map_or(0, |d| d.used);
        NetDiskSummary {
            limit: i64::try_from(self.quota).unwrap_or(i64::MAX),
            used: used as i64,
        }
    }

    pub fn list(&self, me: &SessionHandle) -> NetDiskList {
        let state = self.state.lock().unwrap();
        let files = state.tenants.get(me.tenant()).map_or_else(Vec::new, |d| {
            (d.files.values())
                .filter(|r| r.file_type == FILE_TYPE_SHARED)
                .map(|r| r.obj.clone())
                .collect()
        });
        NetDiskList { files }
    }

    /// Whether `file_id` is a stored file (listed or resource) of the tenant of `me`.
    pub fn exists(&self, tenant: &str, file_id: &str) -> bool {
        let Some(id) = parse_file_id(file_id) else {
            return false;
        };
        let state = self.state.lock().unwrap();
        (state.tenants.get(tenant))
            .and_then(|d| d.files.get(id.key))
            .is_some_and(|r| r.obj.file_id == file_id)
    }

    /// Deletes a stored file: its row first (durable), then its body.
    pub async fn delete(&self, me: &SessionHandle, file_id: &str) -> Result<(), ErrorCode> {
        let id = parse_file_id(file_id).ok_or(ErrorCode::NetDiskFileIdInvalid)?;
        let tenant = me.tenant().to_owned();
        let record = {
            let mut state = self.state.lock().unwrap();
            let disk = state.tenants.get_mut(&tenant);
            let record = disk.and_then(|d| {
                let found = d
                    .files
                    .get(id.key)
                    .is_some_and(|r| r.obj.file_id == file_id);
                found.then(|| d.files.shift_remove(id.key)).flatten()
            });
            record.ok_or(ErrorCode::NetDiskFileIdInvalid)?
        };
        if let Err(e) = self
            .store
            .delete_netdisk_file(tenant.clone(), record.key.clone())
            .await
        {
            warn!(%tenant, file = file_id, "net disk: cannot delete a file's row: {e}");
            // Still stored: list it again where it was last (its order is lost).
            let mut state = self.state.lock().unwrap();
            let disk = state.tenants.entry(tenant).or_default();
            disk.files.insert(record.key.clone(), record);
            return Err(ErrorCode::ServerException);
        }
        {
            let mut state = self.state.lock().unwrap();
            if let Some(disk) = state.tenants.get_mut(&tenant) {
                disk.used = disk.used.saturating_sub(record.obj.size as u64);
            }
        }
        self.changed(&tenant);
        let storage = self.storage.clone();
        let object = object_name(&tenant, &record.key);
        let deleted = tokio::task::spawn_blocking(move || storage.delete(&object)).await;
        if !matches!(deleted, Ok(Ok(()))) {
            // Unlisted already; start-up deletes the orphan.
            warn!(%tenant, file = file_id, "net disk: cannot delete a file's body: {deleted:?}");
        }
        Ok(())
    }

    /// Starts (or resumes, for the same session) uploading `size` bytes as `file_id`.
    pub fn upload(
        self: &Arc<Self>,
        me: &SessionHandle,
        file_id: &str,
        org_name: &str,
        size: u64,
        ctime: i64,
    ) -> Result<NetDiskUploadStart, ErrorCode> {
        let id = parse_file_id(file_id).ok_or(ErrorCode::NetDiskFileIdInvalid)?;
        if org_name.len() > 4 * crvideo_proto::netdisk::MAX_FILE_NAME_BYTES {
            return Err(ErrorCode::ParamErr);
        }
        let tenant = me.tenant().to_owned();
        let slot = (tenant.clone(), id.key.to_owned());
        let mut state = self.state.lock().unwrap();
        if let Some(up) = state.uploads.get(&slot) {
            if up.session != me.session_id() || up.size != size {
                return Err(ErrorCode::ParamErr);
            }
            let offset = up.written.load(Ordering::Acquire);
            debug!(%tenant, file = file_id, offset, "net disk: upload resumed");
            return Ok(NetDiskUploadStart { offset });
        }
        let quota = self.quota;
        let disk = state.tenants.entry(tenant.clone()).or_default();
        if disk.files.contains_key(id.key) {
            return Err(ErrorCode::FileAlreadyExist);
        }
        if disk.used + disk.reserved + size > quota {
            return Err(ErrorCode::NetDiskFull);
        }
        disk.reserved += size;
        let object = object_name(&tenant, id.key);
        let partial = match self.storage.create_partial(&object) {
            Ok(partial) => partial,
            Err(e) => {
                warn!(%tenant, file = file_id, "net disk: cannot create a partial object: {e}");
                disk.reserved -= size;
                return Err(ErrorCode::FileWriteErr);
            }
        };
        state.next_serial += 1;
        let serial = state.next_serial;
        let (jobs, queue) = mpsc::channel(UPLOAD_QUEUE);
        let written = Arc::new(AtomicU64::new(0));
        state.uploads.insert(
            slot,
            Upload {
                session: me.session_id(),
                file_id: file_id.to_owned(),
                serial,
                size,
                written: written.clone(),
                jobs,
            },
        );
        let ctx = UploadCtx {
            serial,
            object,
            written,
            record: FileRecord {
                tenant,
                key: id.key.to_owned(),
                file_type: id.file_type,
                obj: NetFileObj {
                    file_id: file_id.to_owned(),
                    owner_id: me.user_id().to_owned(),
                    owner_name: me.nickname().to_owned(),
                    name: id.name.to_owned(),
                    org_file_name: org_name.to_owned(),
                    md5: String::new(),
                    ctime,
                    size: size as i64,
                    org_size: size as i64,
                    status: 0,
                },
            },
            to: me.clone(),
        };
        tokio::spawn(self.clone().run_upload(ctx, partial, queue));
        Ok(NetDiskUploadStart { offset: 0 })
    }

    /// A disk frame of an upload of `me`; false when it is not one (dropped).
    pub fn chunk(&self, me: &SessionHandle, key: &str, offset: u64, data: Bytes) -> bool {
        self.to_upload(me, key, Job::Chunk { offset, data })
    }

    /// The end of an upload of `me`.
    pub fn end(&self, me: &SessionHandle, file_id: &str, md5: String) -> bool {
        match parse_file_id(file_id) {
            Some(id) => self.to_upload(me, id.key, Job::End { md5 }),
            None => false,
        }
    }

    fn to_upload(&self, me: &SessionHandle, key: &str, job: Job) -> bool {
        let mut state = self.state.lock().unwrap();
        let slot = (me.tenant().to_owned(), key.to_owned());
        let Some(up) = state
            .uploads
            .get(&slot)
            .filter(|u| u.session == me.session_id())
        else {
            return false;
        };
        if up.jobs.try_send(job).is_ok() {
            return true;
        }
        warn!(
            session = me.session_id(),
            "net disk: upload sent beyond its window: ending it"
        );
        let up = state.uploads.remove(&slot).expect("found above");
        release(&mut state, me.tenant(), up.size);
        drop(state);
        let _ = me.send(&ServerFrame::Event(Event::NetdiskUploadResult {
            file_id: up.file_id,
            code: ErrorCode::ErrData.code(),
        }));
        false
    }

    /// Runs an upload: its frames go in order to a writer on the blocking pool
    /// ([`write_upload`]); at its end, verifies, stores and lists it.
    async fn run_upload(
        self: Arc<Self>,
        ctx: UploadCtx,
        partial: Box<dyn PartialObject>,
        mut queue: mpsc::Receiver<Job>,
    ) {
        let ctx = Arc::new(ctx);
        let (jobs, writer_queue) = mpsc::channel(WRITER_QUEUE);
        let writer = {
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || write_upload(&ctx, partial, writer_queue))
        };
        // Forwards until the end, the writer stops (it failed), or every sender of the
        // queue is gone (cancelled, or the session ended). Dropped with the runtime, this
        // task drops `jobs`, which ends the writer too.
        while let Some(job) = queue.recv().await {
            let end = matches!(job, Job::End { .. });
            if jobs.send(job).await.is_err() || end {
                break;
            }
        }
        drop(jobs);
        let written = writer
            .await
            .unwrap_or(Written::Failed(ErrorCode::FileWriteErr));
        let code = match written {
            Written::Cancelled => return self.discard(&ctx).await,
            Written::Complete { md5 } => {
                // Past here the upload is no longer registered: it ends either way.
                if let Some(code) = self.store_upload(&ctx, md5).await {
                    let _ = ctx.to.send(&ServerFrame::Event(Event::NetdiskUploadResult {
                        file_id: ctx.record.obj.file_id.clone(),
                        code: code.code(),
                    }));
                }
                return;
            }
            Written::Failed(code) => code,
        };
        // The upload failed: it ends here, unless it was cancelled meanwhile.
        let mine = {
            let mut state = self.state.lock().unwrap();
            let slot = (ctx.tenant().to_owned(), ctx.key().to_owned());
            let mine = (state.uploads.get(&slot)).is_some_and(|u| u.serial == ctx.serial);
            if mine {
                state.uploads.remove(&slot);
                release(&mut state, ctx.tenant(), ctx.size());
            }
            mine
        };
        self.discard(&ctx).await;
        if mine {
            let _ = ctx.to.send(&ServerFrame::Event(Event::NetdiskUploadResult {
                file_id: ctx.record.obj.file_id.clone(),
                code: code.code(),
            }));
        }
    }

    /// Stores and lists a verified upload: its outcome, or `None` when it was cancelled
    /// meanwhile (nothing stored).
    async fn store_upload(&self, ctx: &UploadCtx, md5: String) -> Option<ErrorCode> {
        let slot = (ctx.tenant().to_owned(), ctx.key().to_owned());
        {
            // From here a cancel finds nothing: the upload completes.
            let mut state = self.state.lock().unwrap();
            match state.uploads.get(&slot) {
                Some(u) if u.serial == ctx.serial => state.uploads.remove(&slot),
                _ => return None, // cancelled
            };
        }
        let storage = self.storage.clone();
        let object = ctx.object.clone();
        let committed = tokio::task::spawn_blocking(move || storage.commit(&object)).await;
        let mut record = ctx.record.clone();
        record.obj.md5 = md5;
        let recorded = match committed {
            Ok(Ok(())) => self
                .store
                .insert_netdisk_file(record.clone())
                .await
                .map_err(|e| e.to_string()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = recorded {
            warn!(tenant = %ctx.tenant(), "net disk: cannot store an upload: {e}");
            release(&mut self.state.lock().unwrap(), ctx.tenant(), ctx.size());
            let storage = self.storage.clone();
            let object = ctx.object.clone();
            let _ = tokio::task::spawn_blocking(move || {
                let _ = storage.delete(&object);
                storage.discard_partial(&object);
            })
            .await;
            return Some(ErrorCode::FileWriteErr);
        }
        let mut state = self.state.lock().unwrap();
        release(&mut state, ctx.tenant(), ctx.size());
        let disk = state.tenants.entry(ctx.tenant().to_owned()).or_default();
        disk.used += ctx.size();
        disk.files.insert(ctx.key().to_owned(), record);
        drop(state);
        self.changed(ctx.tenant());
        Some(ErrorCode::NoErr)
    }

    async fn discard(&self, ctx: &UploadCtx) {
        let storage = self.storage.clone();
        let object = ctx.object.clone();
        let _ = tokio::task::spawn_blocking(move || storage.discard_partial(&object)).await;
    }

    /// Starts (or restarts) sending `file_id` from `offset` to `me`.
    pub fn download(
        &self,
        me: &SessionHandle,
        file_id: &str,
        offset: u64,
    ) -> Result<NetDiskDownloadStart, ErrorCode> {
        let id = parse_file_id(file_id).ok_or(ErrorCode::NetDiskFileIdInvalid)?;
        let mut state = self.state.lock().unwrap();
        let record = (state.tenants.get(me.tenant()))
            .and_then(|d| d.files.get(id.key))
            .filter(|r| r.obj.file_id == file_id)
            .ok_or(ErrorCode::NetDiskFileIdInvalid)?;
        let size = record.obj.size as u64;
        let md5 = record.obj.md5.clone();
        if offset > size {
            return Err(ErrorCode::ParamErr);
        }
        let slot = (me.session_id(), id.key.to_owned());
        if let Some(old) = state.downloads.remove(&slot) {
            old.task.abort();
        }
        state.downloads.retain(|_, d| !d.task.is_finished());
        let mine = (state.downloads.keys())
            .filter(|(s, _)| *s == me.session_id())
            .count();
        if mine >= MAX_DOWNLOADS_PER_SESSION {
            return Err(ErrorCode::TooFrequent);
        }
        let object = self
            .storage
            .open(&object_name(me.tenant(), id.key))
            .map_err(|e| {
                warn!(
                    tenant = me.tenant(),
                    file = file_id,
                    "net disk: cannot open a stored file: {e}"
                );
                ErrorCode::FileReadErr
            })?;
        let (credit, upto) = watch::channel(0);
        let task = tokio::spawn(send_file(
            me.clone(),
            id.key.to_owned(),
            object.into(),
            offset,
            size,
            upto,
        ));
        state.downloads.insert(
            slot,
            Download {
                credit,
                task: task.abort_handle(),
            },
        );
        Ok(NetDiskDownloadStart { size, md5 })
    }

    /// A downloader's credit; false when it has no such download.
    pub fn credit(&self, me: &SessionHandle, file_id: &str, upto: u64) -> bool {
        let Some(id) = parse_file_id(file_id) else {
            return false;
        };
        let state = self.state.lock().unwrap();
        match state.downloads.get(&(me.session_id(), id.key.to_owned())) {
            Some(d) => {
                d.credit.send_if_modified(|u| {
                    let raise = upto > *u;
                    *u = (*u).max(upto);
                    raise
                });
                true
            }
            None => false,
        }
    }

    /// Ends `me`'s upload or download of `file_id` (an upload's bytes are deleted).
    pub fn cancel(&self, me: &SessionHandle, file_id: &str) {
        let Some(id) = parse_file_id(file_id) else {
            return;
        };
        let mut state = self.state.lock().unwrap();
        if let Some(d) = state
            .downloads
            .remove(&(me.session_id(), id.key.to_owned()))
        {
            d.task.abort();
        }
        let slot = (me.tenant().to_owned(), id.key.to_owned());
        if state
            .uploads
            .get(&slot)
            .is_some_and(|u| u.session == me.session_id())
        {
            // Dropping its job sender ends the task, which deletes the partial object.
            let up = state.uploads.remove(&slot).expect("found above");
            release(&mut state, me.tenant(), up.size);
        }
    }

    /// `me`'s connection is lost (it may resume): its downloads stop; the client asks again
    /// from what it has. Uploads wait for it.
    pub fn connection_lost(&self, me: &SessionHandle) {
        let mut state = self.state.lock().unwrap();
        state.downloads.retain(|(session, _), d| {
            let keep = *session != me.session_id();
            if !keep {
                d.task.abort();
            }
            keep
        });
    }

    /// `me`'s session ended: its downloads and uploads end.
    pub fn leave(&self, me: &SessionHandle) {
        self.connection_lost(me);
        let mut state = self.state.lock().unwrap();
        let gone: Vec<_> = (state.uploads.iter())
            .filter(|(_, u)| u.session == me.session_id())
            .map(|(slot, _)| slot.clone())
            .collect();
        for slot in gone {
            let up = state.uploads.remove(&slot).expect("listed above");
            release(&mut state, &slot.0, up.size);
        }
    }
}

/// How an upload's writer ended.
enum Written {
    /// Every byte written and the client's digest matches the server's.
    Complete {
        md5: String,
    },
    Failed(ErrorCode),
    /// Its queue closed before the end.
    Cancelled,
}

/// Writes an upload's chunks in order to `partial` (on the blocking pool), MD5 beside on a
/// thread of its own, and reports progress to the uploader every [`PROGRESS_EVERY`] bytes.
fn write_upload(
    ctx: &UploadCtx,
    mut partial: Box<dyn PartialObject>,
    mut jobs: mpsc::Receiver<Job>,
) -> Written {
    let Ok(hasher) = Md5Thread::start(Md5::default()) else {
        return Written::Failed(ErrorCode::FileWriteErr);
    };
    let mut written = 0u64;
    let mut reported = 0u64;
    while let Some(job) = jobs.blocking_recv() {
        match job {
            Job::Chunk { offset, data } => {
                // A resumed upload sends again from what was written when it asked; frames
                // already written since are skipped (the bytes are the same).
                if offset != written {
                    continue;
                }
                if written + data.len() as u64 > ctx.size() {
                    return Written::Failed(ErrorCode::ErrData);
                }
                if let Err(e) = partial.write_at(offset, &data) {
                    warn!(tenant = %ctx.tenant(), "net disk: write failed: {e}");
                    return Written::Failed(ErrorCode::FileWriteErr);
                }
                written += data.len() as u64;
                hasher.update(data);
                ctx.written.store(written, Ordering::Release);
                if written - reported >= PROGRESS_EVERY || written == ctx.size() {
                    reported = written;
                    let _ = ctx.to.send(&ServerFrame::Event(Event::NetdiskProgress {
                        file_id: ctx.record.obj.file_id.clone(),
                        received: written,
                    }));
                }
            }
            Job::End { md5 } => {
                let Some(digest) = hasher.finish() else {
                    return Written::Failed(ErrorCode::FileWriteErr);
                };
                if written != ctx.size() || !md5.eq_ignore_ascii_case(&digest) {
                    debug!(tenant = %ctx.tenant(), written, size = ctx.size(), "net disk: upload does not match its digest");
                    return Written::Failed(ErrorCode::ErrData);
                }
                return Written::Complete { md5: digest };
            }
        }
    }
    Written::Cancelled
}

fn release(state: &mut State, tenant: &str, size: u64) {
    if let Some(disk) = state.tenants.get_mut(tenant) {
        disk.reserved -= size;
    }
}

/// Sends `object` from `offset` to `size` as disk frames, each once the credit covers it.
async fn send_file(
    to: SessionHandle,
    key: String,
    object: Arc<dyn StoredObject>,
    mut offset: u64,
    size: u64,
    mut upto: watch::Receiver<u64>,
) {
    let key: Arc<str> = key.into();
    while offset < size {
        let len = CHUNK_BYTES.min((size - offset) as usize);
        let end = offset + len as u64;
        if upto.wait_for(|u| *u >= end).await.is_err() {
            return;
        }
        let (object, id) = (object.clone(), key.clone());
        let read = tokio::task::spawn_blocking(move || {
            let mut frame = encode_disk_chunk(&id, offset, &[]);
            let header = frame.len();
            frame.resize(header + len, 0);
            match object.read_at(offset, &mut frame[header..]) {
                Ok(n) if n == len => Some(frame),
                _ => None,
            }
        })
        .await;
        let Ok(Some(frame)) = read else {
            warn!("net disk: a stored file is shorter than recorded");
            return;
        };
        if to.send_bulk(Message::Binary(frame.into())).is_err() {
            return;
        }
        offset = end;
    }
}
