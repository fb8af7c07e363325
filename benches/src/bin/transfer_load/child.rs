//! The child processes of the transfer bench: one SDK each, driven by line commands on
//! stdin, answering on stdout (see the parent module).

use super::*;

/// What reaches a child's main thread: a line from the coordinator or an SDK callback.
enum Msg {
    Line(String),
    StdinClosed,
    LoginSuccess,
    LoginFail(i32),
    LineOff(i32),
    Rlst {
        kind: &'static str,
        task: String,
        code: i32,
        at: Instant,
    },
    CmdData,
    BufferData(usize),
    FileData(String),
    Cancelled(String),
}

static EVENTS: OnceLock<mpsc::Sender<Msg>> = OnceLock::new();

fn post(msg: Msg) {
    if let Some(tx) = EVENTS.get() {
        let _ = tx.send(msg);
    }
}

/// # Safety
/// `p` is NULL or a NUL-terminated string (the SDK never passes NULL).
unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

unsafe extern "C" fn login_success(_: *mut c_void, _: *const c_char, _: *const c_char) {
    post(Msg::LoginSuccess);
}
unsafe extern "C" fn login_fail(_: *mut c_void, code: c_int, _: *const c_char) {
    post(Msg::LoginFail(code));
}
unsafe extern "C" fn line_off(_: *mut c_void, code: c_int) {
    post(Msg::LineOff(code));
}
unsafe extern "C" fn send_cmd_rlst(
    _: *mut c_void,
    task: *const c_char,
    code: c_int,
    _: *const c_char,
) {
    let at = Instant::now();
    post(Msg::Rlst {
        kind: "cmd",
        task: text(task),
        code,
        at,
    });
}
unsafe extern "C" fn send_buffer_rlst(
    _: *mut c_void,
    task: *const c_char,
    code: c_int,
    _: *const c_char,
) {
    let at = Instant::now();
    post(Msg::Rlst {
        kind: "buffer",
        task: text(task),
        code,
        at,
    });
}
unsafe extern "C" fn send_file_rlst(
    _: *mut c_void,
    task: *const c_char,
    _: *const c_char,
    code: c_int,
    _: *const c_char,
) {
    let at = Instant::now();
    post(Msg::Rlst {
        kind: "file",
        task: text(task),
        code,
        at,
    });
}
unsafe extern "C" fn notify_cmd(_: *mut c_void, _: *const c_char, _: *const u8, _: usize) {
    post(Msg::CmdData);
}
unsafe extern "C" fn notify_buffer(_: *mut c_void, _: *const c_char, _: *const u8, len: usize) {
    post(Msg::BufferData(len));
}
unsafe extern "C" fn notify_file(
    _: *mut c_void,
    _: *const c_char,
    tmp_file: *const c_char,
    _: *const c_char,
) {
    post(Msg::FileData(text(tmp_file)));
}
unsafe extern "C" fn notify_cancel(_: *mut c_void, task: *const c_char) {
    post(Msg::Cancelled(text(task)));
}

fn callbacks() -> CRVideo_Callbacks {
    CRVideo_Callbacks {
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
    }
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

struct Child {
    rx: mpsc::Receiver<Msg>,
    cmds_in: usize,
    buffers_in: Vec<usize>,
    files_in: Vec<String>,
}

impl Child {
    /// The next message other than incoming data, which is counted on the way.
    fn next(&mut self, within: Duration) -> BenchResult<Msg> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self
                .rx
                .recv_timeout(left)
                .map_err(|_| format!("nothing from the SDK within {within:?}"))?;
            match msg {
                Msg::CmdData => self.cmds_in += 1,
                Msg::BufferData(len) => self.buffers_in.push(len),
                Msg::FileData(path) => self.files_in.push(path),
                Msg::Cancelled(task) => return Err(format!("transfer {task} cancelled")),
                Msg::LineOff(code) => return Err(format!("LineOff({code})")),
                other => return Ok(other),
            }
        }
    }

    /// Waits for the result callback of `task`; returns its time.
    fn result(&mut self, kind: &str, task: &str) -> BenchResult<Instant> {
        match self.next(STEP_TIMEOUT)? {
            Msg::Rlst {
                kind: k,
                task: t,
                code,
                at,
            } if k == kind && t == task => {
                if code != 0 {
                    return Err(format!("{kind} task {task} failed with code {code}"));
                }
                Ok(at)
            }
            Msg::Rlst { kind, task, .. } => {
                Err(format!("unexpected {kind} result for task {task}"))
            }
            _ => Err(format!(
                "unexpected message while waiting for {kind} {task}"
            )),
        }
    }
}

pub fn run(argv: &[String]) -> BenchResult<()> {
    let mut role = String::new();
    let mut server = String::new();
    let mut user = String::new();
    let mut tmp_dir = String::new();
    let mut max_buffer = 100u64 << 20;
    let mut it = argv.iter();
    role.push_str(it.next().ok_or("no role")?);
    while let Some(arg) = it.next() {
        let value = it.next().ok_or("missing value")?.clone();
        match arg.as_str() {
            "--server" => server = value,
            "--user" => user = value,
            "--tmp-dir" => tmp_dir = value,
            "--max-buffer" => max_buffer = value.parse().map_err(|_| "bad --max-buffer")?,
            other => return Err(format!("unknown child argument {other:?}")),
        }
    }

    let (tx, rx) = mpsc::channel();
    EVENTS.set(tx.clone()).map_err(|_| "events set twice")?;
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            match line {
                Ok(line) => {
                    if tx.send(Msg::Line(line)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send(Msg::StdinClosed);
    });

    let params = serde_json::json!({
        "serverAddr": server,
        "tmpDir": tmp_dir,
        "maxBufferBytes": max_buffer,
        "logLevel": "warn",
    })
    .to_string();
    let params = cstring(&params)?;
    let cbs = callbacks();
    // SAFETY: valid NUL-terminated strings and a full callbacks table, as the ABI asks.
    unsafe {
        let code = lifecycle::CRVideo_Init(params.as_ptr());
        if code != 0 {
            return Err(format!("CRVideo_Init: {code}"));
        }
        let code = lifecycle::CRVideo_SetCallbacks(&cbs, std::ptr::null_mut());
        if code != 0 {
            return Err(format!("CRVideo_SetCallbacks: {code}"));
        }
        let (tenant, pswd, nick) = (
            cstring(BENCH_TENANT)?,
            cstring(BENCH_PASSWORD)?,
            cstring(&user)?,
        );
        let code = session::CRVideo_Login(
            tenant.as_ptr(),
            pswd.as_ptr(),
            nick.as_ptr(),
            nick.as_ptr(),
            c"".as_ptr(),
            c"login".as_ptr(),
        );
        if code != 0 {
            return Err(format!("CRVideo_Login: {code}"));
        }
    }
    let mut me = Child {
        rx,
        cmds_in: 0,
        buffers_in: Vec::new(),
        files_in: Vec::new(),
    };
    match me.next(Duration::from_secs(60))? {
        Msg::LoginSuccess => {}
        Msg::LoginFail(code) => return Err(format!("LoginFail({code})")),
        _ => return Err("unexpected message before the login result".into()),
    }
    say(&format!("READY {role} {user}"));

    loop {
        let line = match me.next(Duration::from_secs(24 * 3600))? {
            Msg::Line(line) => line,
            Msg::StdinClosed => break,
            _ => return Err("unexpected SDK message between commands".into()),
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["cmd", peer, count, warmup, bytes] => {
                let (count, warmup, bytes) = (num(count)?, num(warmup)?, num(bytes)?);
                send_cmds(&mut me, peer, count, warmup, bytes as usize)?;
            }
            ["buffer", peer, size, count] => {
                send_buffers(&mut me, peer, num(size)?, num(count)?)?;
            }
            ["file", peer, path] => send_file(&mut me, peer, path)?,
            ["stats"] => {
                // Incoming data may still be on its way to the callbacks: drain briefly.
                while let Ok(msg) = me.rx.recv_timeout(Duration::from_millis(200)) {
                    match msg {
                        Msg::CmdData => me.cmds_in += 1,
                        Msg::BufferData(len) => me.buffers_in.push(len),
                        Msg::FileData(path) => me.files_in.push(path),
                        _ => return Err("unexpected SDK message during stats".into()),
                    }
                }
                let buffers: Vec<String> = me.buffers_in.iter().map(|n| n.to_string()).collect();
                let files: Vec<String> = me
                    .files_in
                    .iter()
                    .map(|p| {
                        let len = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                        format!("{p}={len}")
                    })
                    .collect();
                say(&format!(
                    "STATS cmds={} buffers={} files={}",
                    me.cmds_in,
                    buffers.join(","),
                    files.join(",")
                ));
                me.buffers_in.clear();
            }
            ["cleanup"] => {
                let n = me.files_in.len();
                for p in me.files_in.drain(..) {
                    std::fs::remove_file(&p).map_err(|e| format!("remove {p}: {e}"))?;
                }
                say(&format!("CLEANED {n}"));
            }
            ["quit"] => break,
            _ => return Err(format!("unknown command {line:?}")),
        }
    }
    lifecycle::CRVideo_Uninit();
    say("BYE");
    Ok(())
}

fn num(s: &str) -> BenchResult<u64> {
    s.parse().map_err(|_| format!("not a number: {s:?}"))
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn send_cmds(me: &mut Child, peer: &str, count: u64, warmup: u64, bytes: usize) -> BenchResult<()> {
    let peer = cstring(peer)?;
    let payload = pseudo_random(bytes, 7);
    let mut samples = Vec::with_capacity(count as usize);
    let started = Instant::now();
    for i in 0..warmup + count {
        let t0 = Instant::now();
        // SAFETY: valid strings; `payload` is `bytes` readable bytes.
        let id = unsafe {
            transfer::CRVideo_SendCmd(
                peer.as_ptr(),
                payload.as_ptr(),
                payload.len(),
                c"c".as_ptr(),
            )
        };
        let id = take_id(id)?;
        let t1 = me.result("cmd", &id)?;
        if i >= warmup {
            samples.push(t1 - t0);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let l = Latency::of(&samples);
    let mean = samples.iter().sum::<Duration>().as_secs_f64() * 1e6 / samples.len().max(1) as f64;
    say(&format!(
        "CMD n={} p50_us={:.1} p99_us={:.1} max_us={:.1} mean_us={:.1} secs={:.3}",
        samples.len(),
        l.p50_ms * 1e3,
        l.p99_ms * 1e3,
        l.max_ms * 1e3,
        mean,
        secs
    ));
    Ok(())
}

fn send_buffers(me: &mut Child, peer: &str, size: u64, count: u64) -> BenchResult<()> {
    let peer = cstring(peer)?;
    let data = pseudo_random(size as usize, 11);
    let mut secs = Vec::new();
    let mut call_secs = Vec::new();
    for _ in 0..count {
        let t0 = Instant::now();
        // SAFETY: valid strings; `data` is `size` readable bytes.
        let id = unsafe {
            transfer::CRVideo_SendBuffer(peer.as_ptr(), data.as_ptr(), data.len(), c"b".as_ptr())
        };
        let returned = Instant::now();
        let id = take_id(id)?;
        let t1 = me.result("buffer", &id)?;
        secs.push(format!("{:.4}", (t1 - t0).as_secs_f64()));
        call_secs.push(format!("{:.4}", (returned - t0).as_secs_f64()));
    }
    drop(data);
    say(&format!(
        "BUFFER secs={} call_secs={}",
        secs.join(","),
        call_secs.join(",")
    ));
    Ok(())
}

fn send_file(me: &mut Child, peer: &str, path: &str) -> BenchResult<()> {
    let peer = cstring(peer)?;
    let file = cstring(path)?;
    let t0 = Instant::now();
    // SAFETY: valid strings.
    let id = unsafe { transfer::CRVideo_SendFile(peer.as_ptr(), file.as_ptr(), c"f".as_ptr()) };
    let returned = Instant::now();
    let id = take_id(id)?;
    let t1 = me.result("file", &id)?;
    say(&format!(
        "FILE secs={:.4} call_secs={:.4}",
        (t1 - t0).as_secs_f64(),
        (returned - t0).as_secs_f64()
    ));
    Ok(())
}
