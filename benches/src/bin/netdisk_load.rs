//! Net disk: a 1 GiB upload and download through crvideo-server, against `curl` putting
//! and getting the same file to and from nginx (WebDAV PUT, plain GET) on loopback, and
//! against plain `md5sum` of the file (the net disk checks MD5 end to end, so hashing bounds
//! it). The coordinator starts a release server on a temporary data dir and itself as
//! `--child ADDR` (user `alice`: one SDK per process, driven by line commands on stdin);
//! the child times each transfer from the `CRVideo_UploadNetDiskFile` /
//! `CRVideo_DownloadNetDiskFile` call to `NotifyNetDiskTransforProgress(fileID, 100, 1)`.
//! Also: the server's peak RSS (`VmHWM`) after a 64 MiB round and after the 1 GiB rounds,
//! the CPU seconds of SDK child + server against curl + nginx, an `fsync` of a just written
//! copy (both ends sync before reporting a file; curl and nginx do not), and an `md5sum`
//! check of every downloaded file. The 1 GiB rounds alternate with curl's. See
//! docs/BENCHMARKS.md.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use clap::Parser;
use crvideo_bench::report::{fixed, ratio, table, Row};
use crvideo_bench::sdk_child::{login, stdin_lines, tell, SdkChild};
use crvideo_bench::{
    cpu_secs, filesystem_of, free_port, log_tail, machine, machine_busy_secs, peak_rss_kib,
    stderr_file, wait_for_port, BenchResult, ChildGuard, Server, ServerArgs, TempDir,
};
use crvideosdk::ffi::callbacks::CRVideo_Callbacks;
use crvideosdk::ffi::{boundary, lifecycle, netdisk};

const MIB: f64 = 1024.0 * 1024.0;
/// Longest wait for one transfer (or one child step).
const STEP: Duration = Duration::from_secs(600);

/// Net-disk upload and download of `--size` bytes through crvideo-server, against curl and
/// nginx on loopback and against md5sum (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), args_override_self = true)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Bytes of the big file.
    #[arg(long, default_value_t = 1 << 30, value_parser = clap::value_parser!(u64).range(1..))]
    size: u64,
    /// Bytes of the small round before (server RSS must not grow with the size).
    #[arg(long, default_value_t = 64 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    small_size: u64,
    /// Runs of each measurement (the best is reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Where the files, the server's data and nginx's root go (default: under $TMPDIR).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    #[arg(long, default_value = "nginx")]
    nginx_bin: String,
    #[arg(long, default_value = "curl")]
    curl_bin: String,
    /// Run without the nginx + curl peer.
    #[arg(long)]
    skip_nginx: bool,
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--child") {
        if let Err(e) = child(&argv[2..]) {
            eprintln!("netdisk_load child: {e}");
            std::process::exit(1);
        }
    } else if let Err(e) = coordinate(&Args::parse()) {
        eprintln!("netdisk_load: {e}");
        std::process::exit(1);
    }
}

// ---- The child: one SDK, user alice ----

/// A `NotifyNetDiskTransforProgress` (fileID, percent, isSucceed, when), or a failure.
enum Progress {
    Step(String, i32, i32, Instant),
    Full,
}

static PROGRESS: OnceLock<mpsc::Sender<Progress>> = OnceLock::new();

unsafe extern "C" fn progress(_: *mut c_void, file_id: *const c_char, percent: c_int, ok: c_int) {
    let at = Instant::now();
    let id = CStr::from_ptr(file_id).to_string_lossy().into_owned();
    if let Some(tx) = PROGRESS.get() {
        let _ = tx.send(Progress::Step(id, percent, ok, at));
    }
}

unsafe extern "C" fn disk_full(_: *mut c_void, _: *const c_char) {
    if let Some(tx) = PROGRESS.get() {
        let _ = tx.send(Progress::Full);
    }
}

fn cstring(s: &str) -> BenchResult<CString> {
    CString::new(s).map_err(|_| format!("NUL in {s:?}"))
}

/// `--child ADDR`: logs in as alice, then answers `upload NAME PATH` with `RESULT ok
/// FILEID SECS CALLBACKS` and `download FILEID PATH` with `RESULT ok SECS CALLBACKS`
/// (`RESULT err WHY` on failure) until `quit`.
fn child(argv: &[String]) -> BenchResult<()> {
    let [addr] = argv else {
        return Err(format!("child arguments: ADDR, not {argv:?}"));
    };
    let (tx, events) = mpsc::channel();
    PROGRESS.set(tx).map_err(|_| "set twice")?;
    let callbacks = CRVideo_Callbacks {
        NotifyNetDiskTransforProgress: Some(progress),
        NotifyNetDiskIsFull: Some(disk_full),
        ..Default::default()
    };
    let session = login(addr, "alice", callbacks)?;
    tell("READY");
    for line in stdin_lines() {
        let answer = match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["upload", name, path] => upload(name, path, &events),
            ["download", id, path] => download(id, path, &events),
            ["quit"] => break,
            _ => Err(format!("unknown command {line:?}")),
        };
        match answer {
            Ok(rest) => tell(&format!("RESULT ok {rest}")),
            Err(e) => tell(&format!("RESULT err {e}")),
        }
    }
    drop(session);
    tell("BYE");
    Ok(())
}

fn upload(name: &str, path: &str, events: &mpsc::Receiver<Progress>) -> BenchResult<String> {
    let (name, path) = (cstring(name)?, cstring(path)?);
    // SAFETY: a valid string; the ID is freed once with the SDK's function.
    let id = unsafe {
        let p = netdisk::CRVideo_MakeNetDiskFileID(0, name.as_ptr());
        if p.is_null() {
            return Err(format!(
                "MakeNetDiskFileID: {}",
                boundary::CRVideo_GetLastError()
            ));
        }
        let id = CStr::from_ptr(p).to_string_lossy().into_owned();
        lifecycle::CRVideo_FreeString(p);
        id
    };
    let c_id = cstring(&id)?;
    let t0 = Instant::now();
    // SAFETY: valid strings.
    let code = unsafe { netdisk::CRVideo_UploadNetDiskFile(c_id.as_ptr(), path.as_ptr()) };
    let (secs, calls) = finish(&id, code, t0, events)?;
    Ok(format!("{id} {secs:.6} {calls}"))
}

fn download(id: &str, path: &str, events: &mpsc::Receiver<Progress>) -> BenchResult<String> {
    let (c_id, path) = (cstring(id)?, cstring(path)?);
    let t0 = Instant::now();
    // SAFETY: valid strings.
    let code = unsafe { netdisk::CRVideo_DownloadNetDiskFile(c_id.as_ptr(), path.as_ptr()) };
    let (secs, calls) = finish(id, code, t0, events)?;
    Ok(format!("{secs:.6} {calls}"))
}

/// Waits for `(id, 100, 1)`: the seconds since `t0` and the progress callbacks seen.
fn finish(
    id: &str,
    code: c_int,
    t0: Instant,
    events: &mpsc::Receiver<Progress>,
) -> BenchResult<(f64, usize)> {
    if code != 0 {
        return Err(format!("the call returned {code}"));
    }
    let mut calls = 0;
    loop {
        match events.recv_timeout(STEP) {
            Ok(Progress::Step(got, percent, ok, at)) if got == id => {
                calls += 1;
                match (percent, ok) {
                    (100, 1) => return Ok(((at - t0).as_secs_f64(), calls)),
                    (_, 1) => {}
                    _ => return Err(format!("isSucceed {ok} at {percent} %")),
                }
            }
            Ok(Progress::Step(other, ..)) => return Err(format!("progress of {other}")),
            Ok(Progress::Full) => return Err("NotifyNetDiskIsFull".into()),
            Err(_) => return Err(format!("no (100, 1) within {STEP:?}")),
        }
    }
}

// ---- The coordinator ----

/// One timed transfer: seconds, CPU seconds of the client and the server side.
#[derive(Clone, Copy)]
struct Run {
    secs: f64,
    client_cpu: f64,
    server_cpu: f64,
    /// CPU seconds the rest of the machine used meanwhile.
    other_cpu: f64,
}

/// The runs of one measurement.
struct Measured {
    label: String,
    bytes: u64,
    runs: Vec<Run>,
}

impl Measured {
    fn new(label: impl Into<String>, bytes: u64) -> Measured {
        let (label, runs) = (label.into(), Vec::new());
        Measured { label, bytes, runs }
    }

    fn push(&mut self, run: Run) {
        let mibs = self.bytes as f64 / MIB / run.secs;
        let (c, s, o) = (run.client_cpu, run.server_cpu, run.other_cpu);
        println!(
            "{}: {:.3} s, {mibs:.0} MiB/s; CPU client {c:.2} s, server {s:.2} s; other CPU {o:.1} s",
            self.label, run.secs
        );
        self.runs.push(run);
    }

    fn best(&self) -> Run {
        let best = self.runs.iter().min_by(|a, b| a.secs.total_cmp(&b.secs));
        *best.expect("at least one run")
    }

    fn best_mibs(&self) -> f64 {
        self.bytes as f64 / MIB / self.best().secs
    }

    fn row(&self) -> Row {
        let best = self.best();
        let secs: Vec<String> = self.runs.iter().map(|r| fixed(r.secs, 3)).collect();
        let gib = self.bytes as f64 / (1024.0 * MIB);
        let other = self.runs.iter().map(|r| r.other_cpu).fold(0.0, f64::max);
        Row::new(&self.label)
            .col("runs", self.runs.len())
            .col("best MiB/s", fixed(self.best_mibs(), 0))
            .col("seconds per run", secs.join(", "))
            .col("client CPU s/GiB", fixed(best.client_cpu / gib, 2))
            .col("server CPU s/GiB", fixed(best.server_cpu / gib, 2))
            .col("other CPU s (max)", fixed(other, 1))
    }
}

/// CPU seconds of `pids` and of the machine, from a start.
struct Cpu {
    pids: Vec<u32>,
    start: Vec<f64>,
    busy: f64,
}

impl Cpu {
    fn start(pids: &[u32]) -> BenchResult<Cpu> {
        let start = pids
            .iter()
            .map(|&p| cpu_secs(p))
            .collect::<BenchResult<_>>()?;
        let busy = machine_busy_secs();
        Ok(Cpu {
            pids: pids.to_vec(),
            start,
            busy,
        })
    }

    /// Each pid's seconds since the start, and the machine's busy seconds.
    fn used(&self) -> BenchResult<(Vec<f64>, f64)> {
        let now = self.pids.iter().map(|&p| cpu_secs(p));
        let used = now.zip(&self.start).map(|(n, s)| Ok(n? - s));
        let used = used.collect::<BenchResult<Vec<f64>>>()?;
        Ok((used, machine_busy_secs() - self.busy))
    }
}

fn coordinate(args: &Args) -> BenchResult<()> {
    args.server.check()?;
    let work_dir = match &args.work_dir {
        Some(dir) => TempDir::at(dir.join(format!("netdisk-{}", std::process::id())))?,
        None => TempDir::new("netdisk")?,
    };
    let work = work_dir.path();
    println!("netdisk_load on {}; {}", machine(), machine_state());
    let fs = filesystem_of(work).unwrap_or_default();
    println!("work dir {} on {fs}", work.display());

    let (big, small) = (work.join("src/big.bin"), work.join("src/small.bin"));
    for sub in ["src", "down", "server"] {
        let made = std::fs::create_dir_all(work.join(sub));
        made.map_err(|e| format!("{}: {e}", work.join(sub).display()))?;
    }
    write_random_file(&big, args.size, 1)?;
    write_random_file(&small, args.small_size, 1_000_003)?;

    // md5sum of the big file (warm page cache): the bound of an MD5-checked transfer.
    println!("\n== md5sum ==");
    let mut md5 = Measured::new(format!("md5sum {} MiB", mib(args.size)), args.size);
    let mut big_md5 = String::new();
    for _ in 0..args.runs {
        let busy = machine_busy_secs();
        let (secs, cpu, out) = timed(Command::new("md5sum").arg(&big))?;
        big_md5 = out
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let other = (machine_busy_secs() - busy - cpu).max(0.0);
        md5.push(Run {
            secs,
            client_cpu: cpu,
            server_cpu: 0.0,
            other_cpu: other,
        });
    }
    let small_md5 = md5_of(&small)?;

    // Both ends sync the file before they report it (the server before listing an upload,
    // the SDK before renaming a download into place); curl and nginx do not.
    println!("\n== fsync ==");
    let label = format!("fsync of a just written {} MiB copy", mib(args.size));
    let mut sync = Measured::new(label, args.size);
    for run in 0..args.runs {
        let copy = work.join(format!("src/sync-{run}.bin"));
        std::fs::copy(&big, &copy).map_err(|e| format!("copy to {}: {e}", copy.display()))?;
        let (cpu, busy) = (cpu_secs(std::process::id())?, machine_busy_secs());
        let t0 = Instant::now();
        let synced = std::fs::File::open(&copy).and_then(|f| f.sync_all());
        let secs = t0.elapsed().as_secs_f64();
        synced.map_err(|e| format!("fsync {}: {e}", copy.display()))?;
        let cpu = cpu_secs(std::process::id())? - cpu;
        let other = (machine_busy_secs() - busy - cpu).max(0.0);
        let _ = std::fs::remove_file(&copy);
        sync.push(Run {
            secs,
            client_cpu: cpu,
            server_cpu: 0.0,
            other_cpu: other,
        });
    }

    let mut nginx = match args.skip_nginx {
        true => None,
        false => Some(Nginx::start(args, work, &big)?),
    };
    println!("\n== crvideo-server + SDK (alice); 1 GiB rounds interleaved with curl + nginx ==");
    let server = Server::crvideo(&args.server.server_bin, &work.join("server"), "", "")?;
    let ours = crvideo_runs(args, &server, work, [&big_md5, &small_md5], nginx.as_mut());
    let server_log = server.log.clone();
    let ours = server.finish(ours)?;
    let log = std::fs::read_to_string(&server_log).unwrap_or_default();
    let noted: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    let lines = log.lines().count();
    println!("server log: {lines} lines, {} WARN/ERROR", noted.len());
    for line in noted.iter().take(20) {
        println!("  {line}");
    }
    let theirs = nginx.map(Nginx::finish).transpose()?;
    println!("\nafter the runs: {}", machine_state());

    println!("\n## Summary (markdown)\n");
    let mut rows = vec![ours.up.row(), ours.down.row()];
    if let Some((up, down, _)) = &theirs {
        rows.extend([up.row(), down.row()]);
    }
    rows.extend([
        ours.small_up.row(),
        ours.small_down.row(),
        md5.row(),
        sync.row(),
    ]);
    table("transfer", &rows);
    println!();
    let mut ratios = Vec::new();
    let md5_mibs = md5.best_mibs();
    for (what, m, peer) in [
        ("upload", &ours.up, theirs.as_ref().map(|t| &t.0)),
        ("download", &ours.down, theirs.as_ref().map(|t| &t.1)),
    ] {
        let cpu = |r: Run| r.client_cpu + r.server_cpu;
        let (ours_mibs, ours_cpu) = (m.best_mibs(), cpu(m.best()));
        let (curl, curl_cpu) =
            peer.map_or((f64::NAN, f64::NAN), |p| (p.best_mibs(), cpu(p.best())));
        ratios.push(
            Row::new(format!("{what} {} MiB", mib(args.size)))
                .col("ours MiB/s", fixed(ours_mibs, 0))
                .col("curl+nginx MiB/s", fixed(curl, 0))
                .col("ours / curl", fixed(ratio(ours_mibs, curl), 2))
                .col("ours / md5sum", fixed(ratio(ours_mibs, md5_mibs), 2))
                .col(
                    "CPU s ours / curl+nginx",
                    fixed(ratio(ours_cpu, curl_cpu), 2),
                ),
        );
    }
    table("ratio (best runs)", &ratios);
    println!();
    let mut rss = vec![Row::new("crvideo-server"), Row::new("SDK child (alice)")];
    for (name, [server, sdk]) in &ours.rss {
        rss[0] = std::mem::take(&mut rss[0]).col(name.as_str(), fixed(*server, 1));
        rss[1] = std::mem::take(&mut rss[1]).col(name.as_str(), fixed(*sdk, 1));
    }
    table("peak RSS (VmHWM) MiB", &rss);
    if let Some((_, _, peak)) = &theirs {
        println!("\nnginx (single process) peak RSS after its runs: {peak:.1} MiB");
    }
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / MIB)
}

/// `nproc N, load average A B C`.
fn machine_state() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("nproc {cores}, load average {}", load.join(" "))
}

/// What the crvideo side measured.
struct Ours {
    up: Measured,
    down: Measured,
    small_up: Measured,
    small_down: Measured,
    /// (when, [server, SDK child] VmHWM in MiB).
    rss: Vec<(String, [f64; 2])>,
}

fn crvideo_runs(
    args: &Args,
    server: &Server,
    work: &Path,
    [big_md5, small_md5]: [&String; 2],
    mut nginx: Option<&mut Nginx>,
) -> BenchResult<Ours> {
    let mut alice = SdkChild::spawn(&[server.addr.to_string()])?;
    alice.expect("READY", Duration::from_secs(60))?;
    let pids = [alice.guard.pid(), server.pid()];
    println!(
        "crvideo-server pid {} at {}; alice pid {}",
        pids[1], server.addr, pids[0]
    );
    let mut rss = Vec::new();
    let mut peaks = |when: &str| -> BenchResult<()> {
        let hwm = |pid| peak_rss_kib(pid).map(|k| k as f64 / 1024.0);
        let (server, sdk) = (hwm(pids[1])?, hwm(pids[0])?);
        println!("peak RSS {when}: server {server:.1} MiB, SDK child {sdk:.1} MiB");
        rss.push((when.to_string(), [server, sdk]));
        Ok(())
    };
    peaks("logged in")?;
    let (small, big) = (work.join("src/small.bin"), work.join("src/big.bin"));
    let (small_mib, big_mib) = (mib(args.small_size), mib(args.size));
    let mut small_up = Measured::new(format!("crvideo upload {small_mib} MiB"), args.small_size);
    let mut small_down =
        Measured::new(format!("crvideo download {small_mib} MiB"), args.small_size);
    let mut up = Measured::new(format!("crvideo upload {big_mib} MiB"), args.size);
    let mut down = Measured::new(format!("crvideo download {big_mib} MiB"), args.size);
    // The small rounds first, so that the peaks after them are not the big files'.
    let rounds = [
        (&small, args.small_size, small_md5),
        (&big, args.size, big_md5),
    ];
    for (i, (src, size, md5)) in rounds.into_iter().enumerate() {
        let (up, down) = match i {
            0 => (&mut small_up, &mut small_down),
            _ => (&mut up, &mut down),
        };
        for run in 0..args.runs {
            let name = format!("{}-{run}.bin", if i == 0 { "small" } else { "big" });
            let cpu = Cpu::start(&pids)?;
            let answer = ask(&mut alice, &format!("upload {name} {}", src.display()))?;
            let (id, rest) = answer.split_once(' ').ok_or("odd upload answer")?;
            up.push(run_of(rest, &cpu)?);
            if run == 0 {
                peaks(&format!("after {} MiB upload", mib(size)))?;
            }
            let out = work.join(format!("down/{name}"));
            let cpu = Cpu::start(&pids)?;
            let answer = ask(&mut alice, &format!("download {id} {}", out.display()))?;
            down.push(run_of(&answer, &cpu)?);
            if run == 0 {
                peaks(&format!("after {} MiB download", mib(size)))?;
            }
            let got = md5_of(&out)?;
            if got != *md5 {
                return Err(format!(
                    "downloaded {} has MD5 {got}, not {md5}",
                    out.display()
                ));
            }
            std::fs::remove_file(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            if let (1, Some(nginx)) = (i, nginx.as_deref_mut()) {
                nginx.round(args, run, src, md5)?;
            }
        }
    }
    peaks(&format!("after all {} runs", args.runs))?;
    alice.say("quit")?;
    alice.expect("BYE", Duration::from_secs(30))?;
    Ok(Ours {
        up,
        down,
        small_up,
        small_down,
        rss,
    })
}

/// Sends `line` to the child; the rest of its `RESULT ok` answer.
fn ask(child: &mut SdkChild, line: &str) -> BenchResult<String> {
    child.say(line)?;
    let answer = child.expect("RESULT ", STEP)?;
    match answer.strip_prefix("ok ") {
        Some(rest) => Ok(rest.to_string()),
        None => Err(format!("{line}: {answer}")),
    }
}

/// `SECS CALLBACKS` of a child's answer, with the CPU used since `cpu` started.
fn run_of(answer: &str, cpu: &Cpu) -> BenchResult<Run> {
    let secs = answer
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok());
    let secs: f64 = secs.ok_or_else(|| format!("odd answer {answer:?}"))?;
    let (used, busy) = cpu.used()?;
    Ok(Run {
        secs,
        client_cpu: used[0],
        server_cpu: used[1],
        other_cpu: (busy - used[0] - used[1]).max(0.0),
    })
}

/// The nginx peer: one process serving `DIR/www`, and what curl measured against it.
struct Nginx {
    guard: ChildGuard,
    dir: PathBuf,
    addr: std::net::SocketAddr,
    up: Measured,
    down: Measured,
}

impl Nginx {
    /// Starts nginx on a free loopback port with a config in `work/nginx`; `big` is served
    /// at `/get/big.bin` (a hard link).
    fn start(args: &Args, work: &Path, big: &Path) -> BenchResult<Nginx> {
        let dir = work.join("nginx");
        for sub in ["www/put", "www/get", "body", "tmp"] {
            let made = std::fs::create_dir_all(dir.join(sub));
            made.map_err(|e| format!("{}: {e}", dir.join(sub).display()))?;
        }
        let port = free_port()?;
        let d = dir.display();
        // One process (no master): its pid is the one to measure. WebDAV PUT writes the body
        // to client_body_temp_path (the same file system) and renames it into the root.
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\nevents {{ worker_connections 64; }}\nhttp {{\n\
             \x20 access_log off;\n  sendfile on;\n  client_body_temp_path {d}/body;\n\
             \x20 proxy_temp_path {d}/tmp;\n  fastcgi_temp_path {d}/tmp;\n\
             \x20 uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n  server {{\n\
             \x20   listen 127.0.0.1:{port};\n    root {d}/www;\n\
             \x20   location /put/ {{ dav_methods PUT; client_max_body_size 0; }}\n\
             \x20   location /get/ {{ }}\n  }}\n}}\n"
        );
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config).map_err(|e| format!("{}: {e}", conf.display()))?;
        // The file to GET: a hard link of the source (same file system, same pages).
        let served = dir.join("www/get/big.bin");
        let linked = std::fs::hard_link(big, &served);
        linked.map_err(|e| format!("link {}: {e}", served.display()))?;
        let mut command = Command::new(&args.nginx_bin);
        command.arg("-p").arg(&dir).arg("-c").arg(&conf);
        command.arg("-e").arg(dir.join("error.log"));
        command.stdin(Stdio::null()).stdout(Stdio::null());
        command.stderr(stderr_file(&dir, "nginx.stderr")?);
        let guard = ChildGuard::spawn("nginx", command)?;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        if let Err(e) = wait_for_port(addr, Duration::from_secs(10)) {
            let stderr = log_tail(&dir.join("nginx.stderr"), 10);
            let log = log_tail(&dir.join("error.log"), 10);
            return Err(format!("nginx: {e}\n{stderr}\n{log}"));
        }
        println!(
            "nginx pid {} at {addr} (config {})",
            guard.pid(),
            conf.display()
        );
        let big_mib = mib(args.size);
        let up = Measured::new(format!("curl -T → nginx PUT {big_mib} MiB"), args.size);
        let down = Measured::new(format!("curl ← nginx GET {big_mib} MiB"), args.size);
        Ok(Nginx {
            guard,
            dir,
            addr,
            up,
            down,
        })
    }

    /// One `curl -T` of `big` and one `curl -o` of it back, checked.
    fn round(&mut self, args: &Args, run: u64, big: &Path, md5: &str) -> BenchResult<()> {
        let (pid, addr) = (self.guard.pid(), self.addr);
        let url = |path: &str| format!("http://{addr}/{path}");
        let mut put = Command::new(&args.curl_bin);
        put.args(["-sS", "-f", "-o", "/dev/null", "-T"]).arg(big);
        put.arg(url(&format!("put/big-{run}.bin")));
        self.up.push(curl_run(put, pid)?);
        let stored = self.dir.join(format!("www/put/big-{run}.bin"));
        let len = std::fs::metadata(&stored).map_or(0, |m| m.len());
        if len != args.size {
            return Err(format!("nginx stored {len} bytes at {}", stored.display()));
        }
        let out = self.dir.join(format!("curl-{run}.bin"));
        let mut get = Command::new(&args.curl_bin);
        get.args(["-sS", "-f", "-o"])
            .arg(&out)
            .arg(url("get/big.bin"));
        self.down.push(curl_run(get, pid)?);
        let got = md5_of(&out)?;
        if got != md5 {
            return Err(format!("curl's {} has MD5 {got}, not {md5}", out.display()));
        }
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_file(&stored);
        Ok(())
    }

    /// Stops nginx: its peak RSS in MiB, its error log's last lines printed.
    fn finish(mut self) -> BenchResult<(Measured, Measured, f64)> {
        let peak_mib = peak_rss_kib(self.guard.pid())? as f64 / 1024.0;
        println!("{}", self.guard.stop(Duration::from_secs(5)));
        let errors = log_tail(&self.dir.join("error.log"), 5);
        if !errors.is_empty() {
            println!("nginx error.log (last lines):\n{errors}");
        }
        Ok((self.up, self.down, peak_mib))
    }
}

/// Runs one curl: wall seconds, its CPU (client) and nginx's (server).
fn curl_run(mut curl: Command, nginx: u32) -> BenchResult<Run> {
    let cpu = Cpu::start(&[nginx])?;
    let (secs, client_cpu, _) = timed(&mut curl)?;
    let (used, busy) = cpu.used()?;
    Ok(Run {
        secs,
        client_cpu,
        server_cpu: used[0],
        other_cpu: (busy - client_cpu - used[0]).max(0.0),
    })
}

/// Runs `command` to its end: wall seconds, CPU seconds (user + system), stdout.
fn timed(command: &mut Command) -> BenchResult<(f64, f64, String)> {
    command.stdin(Stdio::null()).stdout(Stdio::piped());
    let t0 = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("{command:?}: {e}"))?;
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        std::io::Read::read_to_string(&mut stdout, &mut out).map_err(|e| e.to_string())?;
    }
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; the pid is our unreaped child's.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let secs = t0.elapsed().as_secs_f64();
    let status = std::process::ExitStatus::from_raw(status);
    if pid < 0 || !status.success() {
        return Err(format!("{command:?}: {status}"));
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok((secs, tv(usage.ru_utime) + tv(usage.ru_stime), out))
}

/// The MD5 of a file, as `md5sum` prints it.
fn md5_of(path: &Path) -> BenchResult<String> {
    let (_, _, out) = timed(Command::new("md5sum").arg(path))?;
    let hash = out.split_whitespace().next().unwrap_or_default();
    Ok(hash.to_string())
}

/// A file of `size` pseudo-random bytes (xorshift64*), synced before the runs start.
fn write_random_file(path: &Path, size: u64, seed: u64) -> BenchResult<()> {
    let error = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = std::fs::File::create(path).map_err(error)?;
    let (mut block, mut written) = (vec![0u8; 8 << 20], 0u64);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while written < size {
        let n = (size - written).min(block.len() as u64) as usize;
        for chunk in block[..n].chunks_mut(8) {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        file.write_all(&block[..n]).map_err(error)?;
        written += n as u64;
    }
    file.sync_all().map_err(error)
}
