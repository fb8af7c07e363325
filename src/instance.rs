//! The SDK instance of the process: created by `CRVideo_Init`, destroyed by `CRVideo_Uninit`.
//!
//! An instance owns two threads: `crvideo-io` (a current-thread tokio runtime running the
//! engine) and, in `"thread"` dispatch mode, `crvideo-dispatch` (the app's callbacks). API
//! calls reach it through [`current`], which clones an `Arc` out of a lock and releases the
//! lock at once, so no SDK lock is ever held while app code runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc::{channel, error::TrySendError, unbounded_channel, Sender};

use crate::client::handshake::TlsSettings;
use crate::client::netdisk::NetDiskCommand;
use crate::client::queues::SharedQueueCache;
use crate::client::room_calls::RoomCall;
use crate::client::rooms::SharedRoomCache;
use crate::client::{Command, Engine, EngineConfig, RequestSpec};
use crate::dispatch::{self, Dispatcher};
use crate::params::{DispatchMode, SdkParams, ServerAddr};
use crate::ErrorCode;

pub struct Instance {
    pub params: SdkParams,
    pub dispatcher: Arc<Dispatcher>,
    servers: Mutex<Vec<ServerAddr>>,
    /// True while logged in (kept by the engine).
    online: Arc<AtomicBool>,
    /// The SDK's copy of the queue data (kept by the engine).
    pub queues: SharedQueueCache,
    /// The SDK's copy of the meeting room (kept by the engine).
    pub rooms: SharedRoomCache,
    /// Cameras and received videos.
    pub video: Arc<crate::video::Video>,
    /// Microphone, speaker mix and speaking levels.
    pub audio: Arc<crate::audio::Audio>,
    /// The file IDs with a net-disk transfer (kept by the engine).
    pub netdisk: crate::client::ActiveDiskFiles,
    /// HTTP(S) file transfers (they run on `crvideo-io`; no login needed).
    pub http: crate::http::Http,
    /// The local recording.
    pub recorder: Arc<crate::record::Recorder>,
    /// Shared media playback.
    pub media: Arc<crate::media::Media>,
    /// To the engine; bounded ([`COMMAND_QUEUE`]).
    commands: Sender<Command>,
    io_thread: Mutex<Option<JoinHandle<()>>>,
    dispatch_thread: Mutex<Option<JoinHandle<()>>>,
}

static CURRENT: RwLock<Option<Arc<Instance>>> = RwLock::new(None);

/// Dispatch threads whose Uninit ran inside one of their own callbacks: they end as soon as
/// that callback returns, and the next Init or Uninit joins them.
static LINGERING: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// Commands the app may have handed to the engine and the engine not yet taken. The engine
/// takes them as fast as it can; an app calling in a loop faster than that for this long
/// gets `TOO_FREQUENT` instead of growing the SDK's memory without bound.
pub const COMMAND_QUEUE: usize = 16 * 1024;

/// How long Logout waits for the engine to acknowledge (it answers at once unless the
/// process is starved).
const ENGINE_ACK: Duration = Duration::from_secs(10);

/// The live instance, or `NOT_INIT`.
pub fn current() -> Result<Arc<Instance>, ErrorCode> {
    CURRENT.read().clone().ok_or(ErrorCode::NotInit)
}

/// `CRVideo_Init`: a no-op when already initialised.
pub fn init(params_json: &str) -> Result<(), ErrorCode> {
    let params = SdkParams::parse(params_json)?;
    let mut current = CURRENT.write();
    if current.is_some() {
        return Ok(());
    }
    join_lingering();
    install_logging(params.log_level.as_deref());
    *current = Some(Arc::new(Instance::start(params)?));
    Ok(())
}

/// `CRVideo_Uninit`: a no-op when not initialised.
pub fn uninit() {
    let taken = CURRENT.write().take();
    if let Some(instance) = taken {
        instance.shutdown();
    }
    join_lingering();
}

fn join_lingering() {
    let me = std::thread::current().id();
    let handles: Vec<JoinHandle<()>> = std::mem::take(&mut *LINGERING.lock());
    for handle in handles {
        if handle.thread().id() == me {
            // Init/Uninit called again from the very callback that is still running.
            LINGERING.lock().push(handle);
        } else {
            let _ = handle.join();
        }
    }
}

/// Logs the SDK's own messages at `level` (default warn) to stderr, unless the process
/// already has a tracing subscriber. A plain target filter: no regex engine in the library.
fn install_logging(level: Option<&str>) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level: tracing_subscriber::filter::LevelFilter = level
        .unwrap_or("warn")
        .parse()
        .unwrap_or(tracing_subscriber::filter::LevelFilter::WARN);
    let filter = tracing_subscriber::filter::Targets::new().with_target("crvideosdk", level);
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .try_init();
}

/// Queues `command`: `TOO_FREQUENT` when the queue is full, `NOT_INIT` when the engine is
/// gone.
fn queue(commands: &Sender<Command>, command: Command) -> Result<(), ErrorCode> {
    commands.try_send(command).map_err(|e| match e {
        TrySendError::Full(_) => ErrorCode::TooFrequent,
        TrySendError::Closed(_) => ErrorCode::NotInit,
    })
}

/// Queues `command`, retrying while the queue is full. (Not `blocking_send`: that panics on
/// a thread that runs a tokio runtime, which an app's thread may.)
fn send_waiting(commands: &Sender<Command>, mut command: Command) -> Result<(), ErrorCode> {
    loop {
        match commands.try_send(command) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Closed(_)) => return Err(ErrorCode::NotInit),
            Err(TrySendError::Full(back)) => {
                command = back;
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

impl Instance {
    fn start(params: SdkParams) -> Result<Instance, ErrorCode> {
        let dispatcher = Arc::new(Dispatcher::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            // Its blocking pool: the transfer workers (reading, writing and hashing chunks).
            .thread_name("crvideo-pool")
            .enable_all()
            .build()
            .map_err(|_| ErrorCode::NetworkInitFailed)?;
        let (commands, command_rx) = channel(COMMAND_QUEUE);
        let (internal, internal_rx) = unbounded_channel();
        let online = Arc::new(AtomicBool::new(false));
        let queues = SharedQueueCache::default();
        let rooms = SharedRoomCache::default();
        let video = Arc::new(crate::video::Video::new(dispatcher.clone(), rooms.clone()));
        let audio = Arc::new(crate::audio::Audio::new(dispatcher.clone(), rooms.clone()));
        let netdisk = crate::client::ActiveDiskFiles::default();
        let requests: crate::media::Requester = {
            let (commands, online) = (commands.clone(), online.clone());
            Arc::new(move |request, on_reply| {
                if !online.load(Ordering::SeqCst) {
                    return Err(ErrorCode::NotLogin);
                }
                let spec = RequestSpec::new(request, move |_, result| on_reply(result));
                queue(&commands, Command::Request(spec))
            })
        };
        let media = Arc::new(crate::media::Media::new(
            dispatcher.clone(),
            rooms.clone(),
            video.clone(),
            audio.clone(),
            requests,
        ));
        // Reaches the instance when it runs (it is not made yet).
        let uploader: crate::record::Uploader =
            Arc::new(|name| current()?.upload_record_file(name));
        let recorder = Arc::new(crate::record::Recorder::new(
            dispatcher.clone(),
            video.clone(),
            audio.clone(),
            media.clone(),
            uploader,
            rooms.clone(),
            params.record_max,
        ));
        let ca = match &params.ca_file {
            Some(path) => Some(crate::client::tls::load_ca_file(path)?),
            None => None,
        };
        let tls = TlsSettings::new(ca);
        let http = crate::http::Http::new(
            runtime.handle().clone(),
            dispatcher.clone(),
            tls.clone(),
            params.http_stall(),
        );
        let config = EngineConfig {
            request_timeout: params.request_timeout,
            tmp_dir: params.tmp_dir.clone(),
            max_buffer_bytes: params.max_buffer_bytes,
            queues: queues.clone(),
            rooms: rooms.clone(),
            tls,
            resume_window: params.resume_window,
            video: video.clone(),
            audio: audio.clone(),
            netdisk: netdisk.clone(),
            recorder: recorder.clone(),
            media: media.clone(),
        };
        let engine = Engine::new(config, dispatcher.clone(), internal, online.clone());
        let io_thread = std::thread::Builder::new()
            .name("crvideo-io".into())
            .spawn(move || runtime.block_on(engine.run(command_rx, internal_rx)))
            .map_err(|_| ErrorCode::NetworkInitFailed)?;
        let dispatch_thread = match params.dispatch {
            DispatchMode::Poll => None,
            DispatchMode::Thread => {
                let queue = dispatcher.clone();
                let spawned = std::thread::Builder::new()
                    .name("crvideo-dispatch".into())
                    .spawn(move || queue.run_until_closed());
                match spawned {
                    Ok(handle) => Some(handle),
                    Err(_) => {
                        let _ = send_waiting(&commands, Command::Shutdown);
                        let _ = io_thread.join();
                        return Err(ErrorCode::InnerErr);
                    }
                }
            }
        };
        Ok(Instance {
            servers: Mutex::new(params.servers.clone()),
            online,
            queues,
            rooms,
            video,
            audio,
            netdisk,
            http,
            recorder,
            media,
            params,
            dispatcher,
            commands,
            io_thread: Mutex::new(Some(io_thread)),
            dispatch_thread: Mutex::new(dispatch_thread),
        })
    }

    /// Hands a command to the engine: `TOO_FREQUENT` when [`COMMAND_QUEUE`] commands wait
    /// already, `NOT_INIT` once the engine has stopped.
    pub fn send(&self, command: Command) -> Result<(), ErrorCode> {
        queue(&self.commands, command)
    }

    /// Hands a command that must not be refused (Logout, Shutdown) to the engine, waiting
    /// for room if the queue is full (the engine never waits for the app, so room comes).
    fn send_waiting(&self, command: Command) -> Result<(), ErrorCode> {
        send_waiting(&self.commands, command)
    }

    /// Sends a request of the logged-in session: `NOT_LOGIN` at once when not logged in
    /// (no callback); otherwise exactly one result callback follows (a failure one if the
    /// session ends first).
    pub fn request(&self, spec: RequestSpec) -> Result<(), ErrorCode> {
        self.require_login()?;
        self.send(Command::Request(spec))
    }

    /// A call on the meeting room: judged against the SDK's copy (its error returned at
    /// once), then its request, if it changes anything, sent.
    pub fn room_call(&self, call: RoomCall) -> Result<(), ErrorCode> {
        self.require_login()?;
        let spec = call.judge(&mut self.rooms.lock(), &self.rooms)?;
        match spec {
            Some(spec) => self.request(spec),
            None => Ok(()),
        }
    }

    /// Starts a net-disk transfer of `file_id` (one at a time per file ID: `PARAM_ERR`).
    pub fn start_netdisk(&self, file_id: String, command: NetDiskCommand) -> Result<(), ErrorCode> {
        if !self.netdisk.lock().insert(file_id.clone()) {
            return Err(ErrorCode::ParamErr);
        }
        self.send(Command::NetDisk(command)).inspect_err(|_| {
            self.netdisk.lock().remove(&file_id);
        })
    }

    /// `CRVideo_UploadRecordFile` (and `isUploadOnRecording` at a recording's end).
    pub fn upload_record_file(&self, name: &str) -> Result<(), ErrorCode> {
        self.require_login()?;
        let up = self.recorder.start_upload(name)?;
        let command = NetDiskCommand::Upload {
            file_id: up.file_id.clone(),
            file: up.file,
            size: up.size,
            org_name: up.org_name,
            record: Some(up.record),
        };
        self.start_netdisk(up.file_id, command).inspect_err(|_| {
            self.recorder.upload_not_started(name);
        })
    }

    /// `NOT_LOGIN` unless logged in.
    pub fn require_login(&self) -> Result<(), ErrorCode> {
        if self.online.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(ErrorCode::NotLogin)
        }
    }

    pub fn servers(&self) -> Vec<ServerAddr> {
        self.servers.lock().clone()
    }

    pub fn set_servers(&self, servers: Vec<ServerAddr>) {
        *self.servers.lock() = servers;
    }

    /// `CRVideo_Logout`: returns once the session is over (0) or `NOT_LOGIN`.
    pub fn logout(&self) -> Result<(), ErrorCode> {
        let (done, answer) = sync_channel(1);
        self.send_waiting(Command::Logout { done })?;
        match answer.recv_timeout(ENGINE_ACK) {
            Ok(0) => Ok(()),
            Ok(code) => Err(ErrorCode::from_code(code).unwrap_or(ErrorCode::InnerErr)),
            Err(_) => Err(ErrorCode::NotInit),
        }
    }

    /// Stops the engine (logging out), then the callbacks. Called from a thread that is not
    /// running a callback, it delivers the events already queued (the failures of pending
    /// requests among them) and joins every thread. Called from inside a callback it cannot
    /// wait for that callback: queued events are dropped, and the dispatch thread ends when
    /// the callback returns.
    fn shutdown(&self) {
        // HTTP transfers end with the runtime below; none may start meanwhile.
        self.http.close();
        // A recording is finished while video and audio are still there.
        self.recorder.shutdown();
        self.media.shutdown();
        let _ = self.send_waiting(Command::Shutdown);
        if let Some(io) = self.io_thread.lock().take() {
            let _ = io.join();
        }
        self.video.shutdown();
        self.audio.shutdown();
        let dispatch_thread = self.dispatch_thread.lock().take();
        if dispatch::in_callback() {
            self.dispatcher.close_and_discard();
            LINGERING.lock().extend(dispatch_thread);
            return;
        }
        self.dispatcher.close();
        match dispatch_thread {
            Some(thread) => {
                let _ = thread.join();
            }
            // Poll mode: the caller's thread runs what is left.
            None => self.dispatcher.run_until_closed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_queue_is_bounded_but_logout_and_shutdown_wait_for_room() {
        let (commands, mut engine) = channel(2);
        assert_eq!(queue(&commands, Command::Shutdown), Ok(()));
        assert_eq!(queue(&commands, Command::Shutdown), Ok(()));
        assert_eq!(
            queue(&commands, Command::Shutdown),
            Err(ErrorCode::TooFrequent)
        );
        // A command that must not be refused waits until the engine took one.
        let taker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let taken = engine.blocking_recv().is_some();
            (taken, engine)
        });
        assert_eq!(send_waiting(&commands, Command::Shutdown), Ok(()));
        let (taken, engine) = taker.join().unwrap();
        assert!(taken);
        drop(engine);
        assert_eq!(queue(&commands, Command::Shutdown), Err(ErrorCode::NotInit));
        assert_eq!(
            send_waiting(&commands, Command::Shutdown),
            Err(ErrorCode::NotInit)
        );
    }
}
