//! HTTP file transfer: a download of `--size` bytes (default 1 GiB) through the SDK
//! (`CRVideo_StartTransferFile` to its `FileFinished`) against `curl -o` of the same URL,
//! both from one local HTTP/1.1 server (hyper, in this process, on a thread of its own,
//! serving the same 1 MiB block over and over with a Content-Length). Each run writes its
//! file into `--work-dir` and deletes it afterwards. See docs/BENCHMARKS.md.

use std::convert::Infallible;
use std::ffi::{c_char, c_int, c_void, CString};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use crvideo_bench::{filesystem_of, machine, machine_busy_secs, positive, BenchResult, TempDir};
use crvideosdk::ffi::callbacks::CRVideo_Callbacks;
use crvideosdk::ffi::{http, lifecycle};
use http_body_util::StreamBody;
use hyper::body::Frame;

const MIB: f64 = 1024.0 * 1024.0;
/// The block the server repeats.
const BLOCK: usize = 1 << 20;

/// An SDK download vs curl from the same local HTTP server (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"))]
struct Args {
    /// Bytes of the file (a multiple of 1 MiB is served exactly; the rest is cut).
    #[arg(long, default_value_t = 1 << 30, value_parser = clap::value_parser!(u64).range(1..))]
    size: u64,
    /// Runs of each (alternating SDK and curl); the median is reported.
    #[arg(long, default_value = "3", value_parser = positive)]
    runs: usize,
    /// Where the downloads land (default: a temp dir under $TMPDIR).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// curl to compare with.
    #[arg(long, default_value = "curl")]
    curl_bin: String,
    /// Only the SDK (no curl).
    #[arg(long)]
    skip_curl: bool,
    /// Not used (benches/run.sh passes it to every bench): no crvideo-server is involved.
    #[arg(long, hide = true)]
    server_bin: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("http_load: {e}");
        std::process::exit(1);
    }
}

/// FileFinished codes, from the dispatch thread.
static FINISHED: OnceLock<Mutex<mpsc::Sender<i32>>> = OnceLock::new();

unsafe extern "C" fn on_finished(_ud: *mut c_void, _name: *const c_char, rslt: c_int) {
    if let Some(tx) = FINISHED.get() {
        let _ = tx.lock().unwrap().send(rslt);
    }
}

fn run(args: &Args) -> BenchResult<()> {
    let scratch;
    let dir = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => {
            scratch = TempDir::new("http")?;
            scratch.path().to_owned()
        }
    };
    let addr = serve(args.size)?;
    let url = format!("http://{addr}/big");
    let (tx, finished) = mpsc::channel();
    FINISHED.set(Mutex::new(tx)).map_err(|_| "twice")?;
    let params = CString::new("{}").unwrap();
    // SAFETY: a valid string; the callbacks table is copied.
    unsafe {
        if lifecycle::CRVideo_Init(params.as_ptr()) != 0 {
            return Err("CRVideo_Init failed".into());
        }
        let cbs = CRVideo_Callbacks {
            size: std::mem::size_of::<CRVideo_Callbacks>(),
            FileFinished: Some(on_finished),
            ..CRVideo_Callbacks::default()
        };
        lifecycle::CRVideo_SetCallbacks(&cbs, std::ptr::null_mut());
    }
    println!(
        "# HTTP download of {} MiB from a local server",
        args.size as f64 / MIB
    );
    println!("machine: {}", machine());
    if let Some(fs) = filesystem_of(&dir) {
        println!("work dir: {} on {fs}", dir.display());
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());
    let mut sdk = Vec::new();
    let mut curl = Vec::new();
    for run in 1..=args.runs {
        // Alternating which goes first, so that neither always meets the other's writeback.
        let curl_first = run % 2 == 0 && !args.skip_curl;
        if curl_first {
            curl.push(measure(run, "curl", args.size, &dir, |target| {
                curl_download(&args.curl_bin, &url, target)
            })?);
        }
        sdk.push(measure(run, "SDK ", args.size, &dir, |target| {
            sdk_download(&url, target, &finished)
        })?);
        if !curl_first && !args.skip_curl {
            curl.push(measure(run, "curl", args.size, &dir, |target| {
                curl_download(&args.curl_bin, &url, target)
            })?);
        }
    }
    lifecycle::CRVideo_Uninit();
    let median = |v: Vec<f64>| {
        let mut v = v;
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let gib = args.size as f64 / (1024.0 * MIB);
    let sdk_rate = args.size as f64 / MIB / median(sdk.iter().map(|s| s.secs).collect());
    let sdk_cpu = median(sdk.iter().map(|s| s.me).collect());
    println!("SDK  median: {sdk_rate:.1} MiB/s");
    if !curl.is_empty() {
        let curl_rate = args.size as f64 / MIB / median(curl.iter().map(|s| s.secs).collect());
        let server_cpu = median(curl.iter().map(|s| s.me).collect());
        let curl_cpu = median(curl.iter().map(|s| s.children).collect());
        println!("curl median: {curl_rate:.1} MiB/s");
        println!("SDK / curl: {:.1} %", 100.0 * sdk_rate / curl_rate);
        // This process's CPU during curl's runs is the server's alone.
        println!(
            "client CPU-s per GiB (median): SDK {:.2}, curl {:.2} (server {:.2})",
            (sdk_cpu - server_cpu) / gib,
            curl_cpu / gib,
            server_cpu / gib
        );
    }
    Ok(())
}

/// One download by `who` into a fresh file of `dir`, after a `sync` (so that it does not
/// pay for the previous one's dirty pages): its seconds, printed with the machine's load.
fn measure(
    run: usize,
    who: &str,
    size: u64,
    dir: &Path,
    download: impl FnOnce(&Path) -> BenchResult<f64>,
) -> BenchResult<Sample> {
    let target = dir.join(format!("{}-{run}.bin", who.trim()));
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let busy = machine_busy_secs();
    let (me, children) = (cpu(libc::RUSAGE_SELF), cpu(libc::RUSAGE_CHILDREN));
    let secs = download(&target)?;
    let busy = machine_busy_secs() - busy;
    let (me, children) = (
        cpu(libc::RUSAGE_SELF) - me,
        cpu(libc::RUSAGE_CHILDREN) - children,
    );
    check_size(&target, size)?;
    std::fs::remove_file(&target).map_err(|e| e.to_string())?;
    println!(
        "run {run}: {who} {:8.1} MiB/s  ({secs:.2} s; CPU-s: this process {me:.2}, curl {children:.2}; \
         the machine was busy {busy:.2} CPU-s of {:.2})",
        size as f64 / MIB / secs,
        secs * std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64),
    );
    Ok(Sample { secs, me, children })
}

/// One download: its seconds, the CPU seconds of this process (the server, plus the SDK
/// when it is the SDK's) and of curl.
struct Sample {
    secs: f64,
    me: f64,
    children: f64,
}

/// User + system CPU seconds of `who` (`RUSAGE_SELF` or `RUSAGE_CHILDREN`).
fn cpu(who: c_int) -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn check_size(path: &Path, size: u64) -> BenchResult<()> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len != size {
        return Err(format!("{} has {len} bytes, not {size}", path.display()));
    }
    Ok(())
}

/// Seconds from `CRVideo_StartTransferFile` to `FileFinished(0)`.
fn sdk_download(url: &str, target: &Path, finished: &mpsc::Receiver<i32>) -> BenchResult<f64> {
    let info = serde_json::json!({"bUploadType":0,"filePathName":target,"httpUrl":url});
    let info = CString::new(info.to_string()).unwrap();
    let began = Instant::now();
    // SAFETY: a valid string.
    let rc = unsafe { http::CRVideo_StartTransferFile(info.as_ptr()) };
    if rc != 0 {
        return Err(format!("CRVideo_StartTransferFile: {rc}"));
    }
    let rslt = finished
        .recv_timeout(Duration::from_secs(600))
        .map_err(|_| "no FileFinished within 600 s".to_owned())?;
    let secs = began.elapsed().as_secs_f64();
    if rslt != 0 {
        return Err(format!("FileFinished {rslt}"));
    }
    // The name is the path; forget the record (the file is deleted by the caller).
    let name = CString::new(target.to_str().unwrap()).unwrap();
    // SAFETY: a valid string.
    unsafe { http::CRVideo_RmTransferInfo(name.as_ptr(), 0) };
    Ok(secs)
}

/// Seconds of `curl -s -o target url`.
fn curl_download(curl: &str, url: &str, target: &Path) -> BenchResult<f64> {
    let began = Instant::now();
    let status = Command::new(curl)
        .args(["-s", "-f", "-o"])
        .arg(target)
        .arg(url)
        .status()
        .map_err(|e| format!("cannot run {curl}: {e}"))?;
    let secs = began.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("{curl} failed: {status}"));
    }
    Ok(secs)
}

/// Starts the server on a thread of its own: GET /big answers `size` bytes.
fn serve(size: u64) -> BenchResult<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let block = Bytes::from((0..BLOCK).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>());
    std::thread::Builder::new()
        .name("bench-http".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let block = block.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |_req| {
                            let block = block.clone();
                            async move { Ok::<_, Infallible>(answer(block, size)) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                            .await;
                    });
                }
            });
        })
        .map_err(|e| e.to_string())?;
    Ok(addr)
}

type Body =
    StreamBody<futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

/// `size` bytes: the block again and again (shared, never copied), then what is left.
fn answer(block: Bytes, size: u64) -> hyper::Response<Body> {
    let mut frames = Vec::new();
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        frames.push(Ok(Frame::data(block.slice(..n))));
        left -= n as u64;
    }
    let body = StreamBody::new(futures_util::stream::iter(frames));
    hyper::Response::builder()
        .header("content-length", size)
        .body(body)
        .unwrap()
}
