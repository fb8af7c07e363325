//! Bench children that are one SDK user each (the SDK allows one instance per process),
//! driven over stdin/stdout by the parent and calling the SDK's C ABI as an app would: the
//! parent's side ([`SdkChild`]) and the child's (logging in, creating and entering a
//! meeting: [`login`], [`Session`]).

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crvideosdk::ffi::callbacks::CRVideo_Callbacks;
use crvideosdk::ffi::lifecycle::*;
use crvideosdk::ffi::meetings::*;
use crvideosdk::ffi::rooms::*;
use crvideosdk::ffi::session::*;

use crate::child::ChildGuard;
use crate::{BenchResult, BENCH_PASSWORD, BENCH_TENANT};

/// How long a child may take for one step.
pub const CHILD_STEP: Duration = Duration::from_secs(30);

/// The machine's monotonic clock in µs: the same in every process, so a child can stamp
/// what another child measures against.
pub fn monotonic_us() -> i64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec * 1_000_000 + t.tv_nsec / 1000
}

/// Runs `command` and returns its CPU seconds (user + system); None when it failed.
pub fn child_cpu_secs(mut command: Command) -> BenchResult<Option<f64>> {
    let child = command.spawn().map_err(|e| format!("{command:?}: {e}"))?;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; the pid is our child's.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    if pid < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Ok(None);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Some(secs(usage.ru_utime) + secs(usage.ru_stime)))
}

/// The parent's side of a child: this bench's executable run with `--child ROLE…`, and the
/// lines of its stdout.
pub struct SdkChild {
    pub guard: ChildGuard,
    lines: mpsc::Receiver<String>,
}

impl SdkChild {
    pub fn spawn(role: &[String]) -> BenchResult<SdkChild> {
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut command = Command::new(me);
        command
            .arg("--child")
            .args(role)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut guard = ChildGuard::spawn("bench child", command)?;
        let stdout = guard.child_mut().stdout.take().ok_or("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Ok(SdkChild { guard, lines })
    }

    /// The rest of the next line starting with `prefix`.
    pub fn expect(&self, prefix: &str, within: Duration) -> BenchResult<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .map_err(|_| format!("no {prefix:?} from a child within {within:?}"))?;
            if let Some(rest) = line.strip_prefix(prefix) {
                return Ok(rest.to_string());
            }
        }
    }

    pub fn say(&mut self, line: &str) -> BenchResult<()> {
        let pipe = self.guard.child_mut().stdin.as_mut().ok_or("no stdin")?;
        writeln!(pipe, "{line}").map_err(|e| e.to_string())
    }
}

/// The lines the parent sends a child.
pub fn stdin_lines() -> impl Iterator<Item = String> {
    BufReader::new(std::io::stdin())
        .lines()
        .map_while(Result::ok)
}

/// A line to the parent, at once.
pub fn tell(line: &str) {
    println!("{line}");
    std::io::stdout().flush().ok();
}

// ---- The child's side ----

/// What logging in, creating and entering a meeting report.
enum Setup {
    LoggedIn,
    Entered(i32),
    Meeting(String),
    Failed(String),
}

static SETUP: OnceLock<mpsc::SyncSender<Setup>> = OnceLock::new();

fn post(msg: Setup) {
    if let Some(tx) = SETUP.get() {
        let _ = tx.try_send(msg);
    }
}

unsafe extern "C" fn login_success(_: *mut c_void, _: *const c_char, _: *const c_char) {
    post(Setup::LoggedIn);
}
unsafe extern "C" fn login_fail(_: *mut c_void, code: c_int, _: *const c_char) {
    post(Setup::Failed(format!("login failed: {code}")));
}
unsafe extern "C" fn meeting_created(_: *mut c_void, meet: *const c_char, _: *const c_char) {
    post(Setup::Meeting(
        CStr::from_ptr(meet).to_string_lossy().into_owned(),
    ));
}
unsafe extern "C" fn entered(_: *mut c_void, code: c_int) {
    post(Setup::Entered(code));
}

/// This child's SDK, logged in.
pub struct Session {
    setup: mpsc::Receiver<Setup>,
}

/// Inits the SDK with `callbacks` (the bench's own; the set-up ones are added) and logs in
/// as `user` of the bench tenant.
pub fn login(addr: &str, user: &str, callbacks: CRVideo_Callbacks) -> BenchResult<Session> {
    let (tx, setup) = mpsc::sync_channel(16);
    SETUP.set(tx).map_err(|_| "logged in twice")?;
    let params = CString::new(format!(r#"{{"serverAddr":"{addr}"}}"#)).unwrap();
    let callbacks = CRVideo_Callbacks {
        size: std::mem::size_of::<CRVideo_Callbacks>(),
        LoginSuccess: Some(login_success),
        LoginFail: Some(login_fail),
        CreateMeetingSuccess: Some(meeting_created),
        EnterMeetingRslt: Some(entered),
        ..callbacks
    };
    let c = |s: &str| CString::new(s).unwrap();
    // SAFETY: valid strings and a valid table.
    unsafe {
        CRVideo_Init(params.as_ptr());
        CRVideo_SetCallbacks(&callbacks, std::ptr::null_mut());
        let (tenant, pw, user) = (c(BENCH_TENANT), c(BENCH_PASSWORD), c(user));
        CRVideo_Login(
            tenant.as_ptr(),
            pw.as_ptr(),
            user.as_ptr(),
            user.as_ptr(),
            c("").as_ptr(),
            c("").as_ptr(),
        );
    }
    match setup.recv_timeout(CHILD_STEP) {
        Ok(Setup::LoggedIn) => Ok(Session { setup }),
        Ok(Setup::Failed(e)) => Err(e),
        _ => Err("no login".into()),
    }
}

impl Session {
    /// Creates a meeting without password: its ID.
    pub fn create_meeting(&self) -> BenchResult<i32> {
        // SAFETY: valid strings.
        unsafe { CRVideo_CreateMeeting(c"bench".as_ptr(), 0, c"".as_ptr()) };
        let Ok(Setup::Meeting(json)) = self.setup.recv_timeout(CHILD_STEP) else {
            return Err("no meeting".into());
        };
        let meet: serde_json::Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        Ok(meet["ID"].as_i64().ok_or("no ID")? as i32)
    }

    pub fn enter(&self, meeting: i32) -> BenchResult<()> {
        // SAFETY: a valid (empty) password.
        unsafe { CRVideo_EnterMeeting(meeting, c"".as_ptr()) };
        match self.setup.recv_timeout(CHILD_STEP) {
            Ok(Setup::Entered(0)) => Ok(()),
            _ => Err("could not enter".into()),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        CRVideo_Uninit();
    }
}
