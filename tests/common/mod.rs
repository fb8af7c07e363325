//! Test harness shared by the integration tests: they drive the SDK through its extern
//! functions exactly as a C program would.
//!
//! The SDK is one instance per process, so tests of one binary take [`serial`] first; the
//! callbacks record every event (with the thread it ran on) into a global [`Recorder`].

#![allow(dead_code)]

pub mod checked;
pub mod fake_servers;
pub mod http_server;
pub mod media_file;
pub mod netdisk;
pub mod peer;
pub mod proxy;
pub mod server_process;
pub mod video_peer;
pub mod wav;

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use crvideo_server::config::{Config, TenantConfig};
use crvideo_server::BackgroundServer;
use crvideosdk::ffi::callbacks::CRVideo_Callbacks;
use crvideosdk::ffi::lifecycle::*;
use once_cell::sync::Lazy;
use parking_lot::{Condvar, Mutex, MutexGuard};

/// Heartbeat of test servers: a dead peer is noticed after three of these.
pub const TEST_HEARTBEAT_MS: u64 = 200;
/// Unanswered calls end after this in test servers.
pub const TEST_CALL_TIMEOUT_SECS: u64 = 2;

/// A fresh directory under cargo's scratch space for integration tests.
pub fn scratch_dir(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Generous bound for things that should happen "at once"; only failing tests wait this long.
pub const PATIENCE: Duration = Duration::from_secs(20);

static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the process-wide SDK for one test.
pub fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock();
    // A test that panicked may have left the SDK initialised.
    CRVideo_Uninit();
    RECORDER.clear();
    *HOOK.lock() = None;
    guard
}

/// What a callback reported: the SDK's own event type, built back from the C arguments.
pub use crvideosdk::Event as Ev;

#[derive(Debug, Clone)]
pub struct Record {
    pub ev: Ev,
    pub thread: ThreadId,
    pub thread_name: Option<String>,
}

pub struct Recorder {
    records: Mutex<Vec<Record>>,
    changed: Condvar,
}

pub static RECORDER: Lazy<Recorder> = Lazy::new(|| Recorder {
    records: Mutex::new(Vec::new()),
    changed: Condvar::new(),
});

/// Code a test runs inside a callback, after the event is recorded.
pub type Hook = Arc<dyn Fn(&Ev) + Send + Sync>;
pub static HOOK: Mutex<Option<Hook>> = Mutex::new(None);

pub fn set_hook(hook: impl Fn(&Ev) + Send + Sync + 'static) {
    *HOOK.lock() = Some(Arc::new(hook));
}

impl Recorder {
    pub fn clear(&self) {
        self.records.lock().clear();
    }

    fn push(&self, ev: Ev) {
        let current = std::thread::current();
        self.records.lock().push(Record {
            ev: ev.clone(),
            thread: current.id(),
            thread_name: current.name().map(str::to_owned),
        });
        self.changed.notify_all();
        let hook = HOOK.lock().clone();
        if let Some(hook) = hook {
            hook(&ev);
        }
    }

    pub fn events(&self) -> Vec<Ev> {
        self.records.lock().iter().map(|r| r.ev.clone()).collect()
    }

    pub fn records(&self) -> Vec<Record> {
        self.records.lock().clone()
    }

    /// Waits until `count` events were recorded; panics after [`PATIENCE`].
    pub fn wait_count(&self, count: usize) -> Vec<Ev> {
        let deadline = Instant::now() + PATIENCE;
        let mut records = self.records.lock();
        while records.len() < count {
            if self.changed.wait_until(&mut records, deadline).timed_out() {
                panic!(
                    "waited for {count} events, got {:?}",
                    records.iter().map(|r| &r.ev).collect::<Vec<_>>()
                );
            }
        }
        records.iter().map(|r| r.ev.clone()).collect()
    }

    /// Waits for the first event matching `pred`; panics after `patience`.
    pub fn wait_for_within(&self, patience: Duration, pred: impl Fn(&Ev) -> bool) -> Ev {
        let deadline = Instant::now() + patience;
        let mut records = self.records.lock();
        loop {
            if let Some(r) = records.iter().find(|r| pred(&r.ev)) {
                return r.ev.clone();
            }
            if self.changed.wait_until(&mut records, deadline).timed_out() {
                panic!(
                    "no matching event within {patience:?}; got {:?}",
                    records.iter().map(|r| &r.ev).collect::<Vec<_>>()
                );
            }
        }
    }

    /// Waits until `pred` holds for the whole list of events; returns the list.
    pub fn wait_until(&self, pred: impl Fn(&[Ev]) -> bool) -> Vec<Ev> {
        let deadline = Instant::now() + PATIENCE;
        let mut records = self.records.lock();
        loop {
            let events: Vec<Ev> = records.iter().map(|r| r.ev.clone()).collect();
            if pred(&events) {
                return events;
            }
            if self.changed.wait_until(&mut records, deadline).timed_out() {
                panic!("condition not met; events: {events:?}");
            }
        }
    }

    pub fn wait_for(&self, pred: impl Fn(&Ev) -> bool) -> Ev {
        self.wait_for_within(PATIENCE, pred)
    }

    /// Asserts that no event matching `pred` arrives within `quiet`.
    pub fn assert_none_within(&self, quiet: Duration, pred: impl Fn(&Ev) -> bool) {
        let deadline = Instant::now() + quiet;
        let mut records = self.records.lock();
        loop {
            if let Some(r) = records.iter().find(|r| pred(&r.ev)) {
                panic!("unexpected event {:?}", r.ev);
            }
            if self.changed.wait_until(&mut records, deadline).timed_out() {
                return;
            }
        }
    }
}

/// A callback's text argument.
unsafe fn arg_text(p: *const c_char) -> String {
    assert!(!p.is_null(), "the SDK passed a NULL string to a callback");
    CStr::from_ptr(p)
        .to_str()
        .expect("callback strings are UTF-8")
        .to_owned()
}

/// A callback's data argument.
unsafe fn arg_bytes(data: *const u8, len: usize) -> Vec<u8> {
    match len {
        0 => Vec::new(),
        _ => std::slice::from_raw_parts(data, len).to_vec(),
    }
}

fn record(_member: &str, event: Ev) {
    RECORDER.push(event);
}

// `recording_callbacks()`: every member of CRVideo_Callbacks records its event (generated by
// build.rs from CRVideo_Callbacks).
include!(concat!(env!("OUT_DIR"), "/recording_callbacks.rs"));

pub fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// Init with `params` and the recording callbacks; panics on failure.
pub fn init(params: &str) {
    let params = cstr(params);
    assert_eq!(unsafe { CRVideo_Init(params.as_ptr()) }, 0);
    let cbs = recording_callbacks();
    assert_eq!(
        unsafe { CRVideo_SetCallbacks(&cbs, std::ptr::null_mut()) },
        0
    );
}

/// Init pointed at `addr`.
pub fn init_with_server(addr: impl std::fmt::Display) {
    init(&format!(r#"{{"serverAddr":"{addr}","timeoutMs":10000}}"#));
}

/// `CRVideo_Login` with Rust strings.
pub fn login(tenant: &str, password: &str, nick: &str, user: &str, cookie: &str) -> i32 {
    let (t, p, n, u, a, c) = (
        cstr(tenant),
        cstr(password),
        cstr(nick),
        cstr(user),
        cstr(""),
        cstr(cookie),
    );
    unsafe {
        crvideosdk::ffi::session::CRVideo_Login(
            t.as_ptr(),
            p.as_ptr(),
            n.as_ptr(),
            u.as_ptr(),
            a.as_ptr(),
            c.as_ptr(),
        )
    }
}

/// Logs `user` into the demo tenant and waits for LoginSuccess.
pub fn login_ok(user: &str) -> String {
    let before = RECORDER.events().len();
    assert_eq!(login("demo", "demo123", user, user, "ck"), 0);
    let events = RECORDER.wait_count(before + 1);
    match &events[before] {
        Ev::LoginSuccess { usr_id, .. } => usr_id.clone(),
        other => panic!("login of {user:?} gave {other:?}"),
    }
}

/// Config of in-process test servers: short heartbeats, the demo tenant and a second one.
pub fn test_config() -> Config {
    let mut config = Config::with_demo_tenant();
    config.listen = "127.0.0.1:0".into();
    config.data_dir = scratch_dir("server");
    config.call_timeout_secs = TEST_CALL_TIMEOUT_SECS;
    config.heartbeat_ms = TEST_HEARTBEAT_MS;
    config
        .tenants
        .push(TenantConfig::with_password("acme", "s3cret"));
    config
}

pub fn start_server() -> BackgroundServer {
    BackgroundServer::start(test_config()).expect("test server starts")
}

/// A test server without request rate limits, for tests that send thousands of requests
/// on purpose.
pub fn start_unthrottled_server() -> BackgroundServer {
    let mut config = test_config();
    config.limits.requests_per_sec = 1_000_000;
    config.limits.request_burst = 1_000_000;
    config.limits.cmds_per_sec = 1_000_000;
    config.limits.cmd_burst = 1_000_000;
    BackgroundServer::start(config).expect("test server starts")
}

/// Polls `cond` until it holds; panics after [`PATIENCE`]. For state that has no event
/// (e.g. the server's list of online users).
pub fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `len` bytes that differ from one offset to the next (xorshift), the same for a seed: test
/// files whose every byte a transfer must get right.
#[allow(dead_code)] // not every test file makes data
pub fn test_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The top-level boxes of an MP4 file: (type, size); they must cover it exactly.
pub fn mp4_top_boxes(path: &std::path::Path) -> Vec<(String, u64)> {
    let file = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= file.len() {
        let mut size = u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as u64;
        if size == 1 {
            size = u64::from_be_bytes(file[at + 8..at + 16].try_into().unwrap());
        }
        assert!(size >= 8, "box at {at}: size {size}");
        out.push((
            String::from_utf8_lossy(&file[at + 4..at + 8]).into_owned(),
            size,
        ));
        at += size as usize;
    }
    assert_eq!(at, file.len(), "{}: boxes cover the file", path.display());
    out
}
