//! The child processes of the transfer bench: `--role ROLE USER PARAMS`, one SDK each
//! (`CRVideo_Init(PARAMS)`, login as USER), driven by line commands on stdin and answering
//! on stdout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::*;
use transfer::{
    CRVideo_SendBuffer as SendBuffer, CRVideo_SendBufferNoCopy as SendBufferNoCopy,
    CRVideo_SendCmd as SendCmd, CRVideo_SendFile as SendFile,
};

/// What the SDK's callbacks tell the main thread: the login's result, a transfer's result
/// (kind, task, code, when), or what ends the child.
enum Event {
    Login(i32),
    Result(&'static str, String, i32, Instant),
    Failed(String),
}

static EVENTS: OnceLock<mpsc::Sender<Event>> = OnceLock::new();
/// Incoming data, counted by the callbacks: commands, buffers' lengths, files' paths.
static CMDS_IN: AtomicUsize = AtomicUsize::new(0);
static BUFFERS_IN: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static FILES_IN: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Buffers `SendBufferNoCopy` gave back (its release callback).
static RELEASED: (Mutex<usize>, std::sync::Condvar) = (Mutex::new(0), std::sync::Condvar::new());

unsafe extern "C" fn release(_: *mut c_void, _: *const u8, _: usize) {
    *lock(&RELEASED.0) += 1;
    RELEASED.1.notify_all();
}

/// Waits until `n` buffers were given back in all.
fn wait_released(n: usize) -> BenchResult<()> {
    let released = lock(&RELEASED.0);
    let (released, timeout) = RELEASED
        .1
        .wait_timeout_while(released, STEP, |r| *r < n)
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match timeout.timed_out() {
        true => Err(format!("{} of {n} lent buffers given back", *released)),
        false => Ok(()),
    }
}

fn post(event: Event) {
    if let Some(tx) = EVENTS.get() {
        let _ = tx.send(event);
    }
}

type Ctx = *mut c_void;
type Str = *const c_char;

/// # Safety
/// `p` is NULL or a NUL-terminated string (the SDK never passes NULL).
unsafe fn text(p: Str) -> String {
    match p.is_null() {
        true => String::new(),
        false => CStr::from_ptr(p).to_string_lossy().into_owned(),
    }
}

unsafe fn result(kind: &'static str, task: Str, code: c_int) {
    let at = Instant::now();
    post(Event::Result(kind, text(task), code, at));
}

unsafe extern "C" fn login_success(_: Ctx, _: Str, _: Str) {
    post(Event::Login(0));
}
unsafe extern "C" fn login_fail(_: Ctx, code: c_int, _: Str) {
    post(Event::Login(code));
}
unsafe extern "C" fn line_off(_: Ctx, code: c_int) {
    post(Event::Failed(format!("LineOff({code})")));
}
unsafe extern "C" fn send_cmd_rlst(_: Ctx, task: Str, code: c_int, _: Str) {
    result("cmd", task, code);
}
unsafe extern "C" fn send_buffer_rlst(_: Ctx, task: Str, code: c_int, _: Str) {
    result("buffer", task, code);
}
unsafe extern "C" fn send_file_rlst(_: Ctx, task: Str, _: Str, code: c_int, _: Str) {
    result("file", task, code);
}
unsafe extern "C" fn notify_cmd(_: Ctx, _: Str, _: *const u8, _: usize) {
    CMDS_IN.fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn notify_buffer(_: Ctx, _: Str, _: *const u8, len: usize) {
    lock(&BUFFERS_IN).push(len);
}
unsafe extern "C" fn notify_file(_: Ctx, _: Str, tmp_file: Str, _: Str) {
    lock(&FILES_IN).push(text(tmp_file));
}
unsafe extern "C" fn notify_cancel(_: Ctx, task: Str) {
    post(Event::Failed(format!("transfer {} cancelled", text(task))));
}

fn cstring(s: &str) -> BenchResult<CString> {
    CString::new(s).map_err(|_| format!("NUL in {s:?}"))
}

/// Takes ownership of an ID returned by the SDK.
fn take_id(p: *mut c_char) -> BenchResult<String> {
    if p.is_null() {
        return Err("the SDK returned no task ID (not initialised?)".into());
    }
    // SAFETY: a string the SDK returned, freed once with its own function.
    unsafe {
        let id = CStr::from_ptr(p).to_string_lossy().into_owned();
        lifecycle::CRVideo_FreeString(p);
        Ok(id)
    }
}

pub fn run(argv: &[String]) -> BenchResult<()> {
    let [role, user, params] = argv else {
        return Err(format!("child arguments: ROLE USER PARAMS, not {argv:?}"));
    };
    let (tx, events) = mpsc::channel();
    EVENTS.set(tx).map_err(|_| "events set twice")?;
    let callbacks = CRVideo_Callbacks {
        size: std::mem::size_of::<CRVideo_Callbacks>(),
        LoginSuccess: Some(login_success),
        LoginFail: Some(login_fail),
        LineOff: Some(line_off),
        SendCmdRlst: Some(send_cmd_rlst),
        SendBufferRlst: Some(send_buffer_rlst),
        SendFileRlst: Some(send_file_rlst),
        NotifyCmdData: Some(notify_cmd),
        NotifyBufferData: Some(notify_buffer),
        NotifyFileData: Some(notify_file),
        NotifyCancelSend: Some(notify_cancel),
        ..Default::default()
    };
    let (params, nick) = (cstring(params)?, cstring(user)?);
    let (tenant, pswd) = (cstring(BENCH_TENANT)?, cstring(BENCH_PASSWORD)?);
    let check = |call: &str, code: c_int| match code {
        0 => Ok(()),
        code => Err(format!("{call}: {code}")),
    };
    // SAFETY: valid NUL-terminated strings and a full callbacks table, as the ABI asks.
    unsafe {
        check("CRVideo_Init", lifecycle::CRVideo_Init(params.as_ptr()))?;
        let set = lifecycle::CRVideo_SetCallbacks(&callbacks, std::ptr::null_mut());
        check("CRVideo_SetCallbacks", set)?;
        let (tenant, pswd, nick, cookie) =
            (tenant.as_ptr(), pswd.as_ptr(), nick.as_ptr(), c"login");
        let login = session::CRVideo_Login(tenant, pswd, nick, nick, c"".as_ptr(), cookie.as_ptr());
        check("CRVideo_Login", login)?;
    }
    match events.recv_timeout(Duration::from_secs(60)) {
        Ok(Event::Login(0)) => say(&format!("READY {role} {user}")),
        Ok(Event::Login(code)) => return Err(format!("LoginFail({code})")),
        _ => return Err("no login result".into()),
    }
    let sdk = Sdk(events);
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["cmd", peer, n, warmup, bytes] => {
                sdk.cmds(peer, num(n)?, num(warmup)?, num(bytes)?)?
            }
            ["buffer", peer, size, count] => {
                let (peer, data) = (cstring(peer)?, pseudo_random(num(size)?, 11));
                // SAFETY: valid strings; `data` is readable.
                let send = || unsafe {
                    SendBuffer(peer.as_ptr(), data.as_ptr(), data.len(), c"b".as_ptr())
                };
                sdk.send("buffer", num(count)?, send)?
            }
            ["lend", peer, size, count] => {
                // SendBufferNoCopy of the same buffer `count` times (the app's memory is
                // read in place; several loans of it may overlap, the SDK only reads).
                let (peer, data) = (cstring(peer)?, pseudo_random(num(size)?, 11));
                let (before, count) = (*lock(&RELEASED.0), num(count)?);
                // SAFETY: valid strings; `data` stays readable and unchanged until every
                // loan is given back (waited for below, before it is dropped).
                let send = || unsafe {
                    SendBufferNoCopy(
                        peer.as_ptr(),
                        data.as_ptr(),
                        data.len(),
                        Some(release),
                        std::ptr::null_mut(),
                        c"b".as_ptr(),
                    )
                };
                sdk.send("buffer", count, send)?;
                wait_released(before + count)?;
            }
            ["file", peer, path] => {
                let (peer, file) = (cstring(peer)?, cstring(path)?);
                // SAFETY: valid strings.
                sdk.send("file", 1, || unsafe {
                    SendFile(peer.as_ptr(), file.as_ptr(), c"f".as_ptr())
                })?
            }
            ["stats"] => say(&stats()),
            ["cleanup"] => {
                let files = std::mem::take(&mut *lock(&FILES_IN));
                for p in &files {
                    std::fs::remove_file(p).map_err(|e| format!("remove {p}: {e}"))?;
                }
                say(&format!("CLEANED {}", files.len()));
            }
            ["quit"] => break,
            _ => return Err(format!("unknown command {line:?}")),
        }
    }
    lifecycle::CRVideo_Uninit();
    say("BYE");
    Ok(())
}

fn lock<T>(data: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    data.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The `STATS` answer: commands since the start, buffers since the last stats, files not
/// cleaned up.
fn stats() -> String {
    let counts = || {
        [
            CMDS_IN.load(Ordering::SeqCst),
            lock(&BUFFERS_IN).len(),
            lock(&FILES_IN).len(),
        ]
    };
    // Incoming data may still be on its way to the callbacks: wait for 200 ms without any.
    let mut last = counts();
    loop {
        std::thread::sleep(Duration::from_millis(200));
        if std::mem::replace(&mut last, counts()) == last {
            break;
        }
    }
    let buffers = std::mem::take(&mut *lock(&BUFFERS_IN));
    let buffers: Vec<String> = buffers.iter().map(usize::to_string).collect();
    let file = |p: &String| format!("{p}={}", std::fs::metadata(p).map_or(0, |m| m.len()));
    let files: Vec<String> = lock(&FILES_IN).iter().map(file).collect();
    let (cmds, buffers, files) = (last[0], buffers.join(","), files.join(","));
    format!("STATS cmds={cmds} buffers={buffers} files={files}")
}

fn num(s: &str) -> BenchResult<usize> {
    s.parse().map_err(|_| format!("not a number: {s:?}"))
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// The SDK's events, as the main thread waits for them.
struct Sdk(mpsc::Receiver<Event>);

impl Sdk {
    /// Waits for the result callback of `task`; returns its time.
    fn result(&self, kind: &str, task: &str) -> BenchResult<Instant> {
        match self.0.recv_timeout(STEP) {
            Ok(Event::Result(k, t, 0, at)) if k == kind && t == task => Ok(at),
            Ok(Event::Result(k, t, code, _)) => {
                Err(format!("{k} {t}: code {code}, not {kind} {task}"))
            }
            Ok(Event::Failed(e)) => Err(e),
            _ => Err(format!("no result of {kind} {task}")),
        }
    }

    fn cmds(&self, peer: &str, count: usize, warmup: usize, bytes: usize) -> BenchResult<()> {
        let (peer, payload) = (cstring(peer)?, pseudo_random(bytes, 7));
        let (mut samples, started) = (Vec::with_capacity(count), Instant::now());
        for i in 0..warmup + count {
            let t0 = Instant::now();
            // SAFETY: valid strings; `payload` is `bytes` readable bytes.
            let id = unsafe { SendCmd(peer.as_ptr(), payload.as_ptr(), bytes, c"c".as_ptr()) };
            let t1 = self.result("cmd", &take_id(id)?)?;
            if i >= warmup {
                samples.push(t1 - t0);
            }
        }
        let (secs, n, l) = (
            started.elapsed().as_secs_f64(),
            samples.len(),
            Latency::of(&samples),
        );
        let mean = samples.iter().sum::<Duration>().as_secs_f64() * 1e6 / n.max(1) as f64;
        let (p50, p99, max) = (l.p50_ms * 1e3, l.p99_ms * 1e3, l.max_ms * 1e3);
        say(&format!("CMD n={n} p50_us={p50:.1} p99_us={p99:.1} max_us={max:.1} mean_us={mean:.1} secs={secs:.3}"));
        Ok(())
    }

    /// `count` SendBuffer or SendFile, one after another: the seconds to each result
    /// callback and for the call itself to return.
    fn send(&self, kind: &str, count: usize, send: impl Fn() -> *mut c_char) -> BenchResult<()> {
        let (mut secs, mut call_secs) = (Vec::new(), Vec::new());
        for _ in 0..count {
            let t0 = Instant::now();
            let id = send();
            let returned = Instant::now();
            let t1 = self.result(kind, &take_id(id)?)?;
            secs.push(format!("{:.4}", (t1 - t0).as_secs_f64()));
            call_secs.push(format!("{:.4}", (returned - t0).as_secs_f64()));
        }
        let (kind, secs, call_secs) = (kind.to_uppercase(), secs.join(","), call_secs.join(","));
        say(&format!("{kind} secs={secs} call_secs={call_secs}"));
        Ok(())
    }
}
