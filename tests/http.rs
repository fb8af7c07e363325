//! HTTP file transfer (API.md section 11) through the C ABI, against a real HTTP(S) server
//! started by the test (tests/common/http_server.rs).

mod common;

use std::ffi::{c_char, CStr};
use std::path::Path;
use std::time::{Duration, Instant};

use common::http_server::{test_pki, HttpServer};
use common::server_process::TempDir;
use common::*;
use crvideosdk::ffi::boundary::CRVideo_GetLastError;
use crvideosdk::ffi::http::*;
use crvideosdk::ffi::lifecycle::{CRVideo_FreeString, CRVideo_Uninit};
use serde_json::{json, Value};

const PARAM_ERR: i32 = 5;
const NOT_INIT: i32 = 11;
const TRANSID_INVALID: i32 = 1104;

fn start(json: &str) -> i32 {
    let json = cstr(json);
    unsafe { CRVideo_StartTransferFile(json.as_ptr()) }
}

fn download(path: &Path, url: &str) -> i32 {
    start(&json!({"bUploadType":0,"filePathName":path,"httpUrl":url}).to_string())
}

fn cancel(path: &Path) -> i32 {
    let name = cstr(path.to_str().unwrap());
    unsafe { CRVideo_CancelFileTransfer(name.as_ptr()) }
}

fn remove(path: &Path, files: bool) -> i32 {
    let name = cstr(path.to_str().unwrap());
    unsafe { CRVideo_RmTransferInfo(name.as_ptr(), files as i32) }
}

/// Takes a string the SDK returned: its text, or the `CRVideo_GetLastError` code.
fn taken(p: *mut c_char) -> Result<String, i32> {
    if p.is_null() {
        return Err(CRVideo_GetLastError());
    }
    let text = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
    unsafe { CRVideo_FreeString(p) };
    Ok(text)
}

fn info(path: &Path) -> Result<Value, i32> {
    let name = cstr(path.to_str().unwrap());
    taken(unsafe { CRVideo_GetTransferInfo(name.as_ptr()) })
        .map(|text| serde_json::from_str(&text).unwrap())
}

fn name_of(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

/// The `rslt` of the first FileFinished of `path` (waiting for it).
fn finished(path: &Path) -> i32 {
    finished_nth(path, 0)
}

/// The `rslt` of the `n`th (from 0) FileFinished of `path`.
fn finished_nth(path: &Path, n: usize) -> i32 {
    let name = name_of(path);
    let events = RECORDER.wait_until(|events| results(events, &name).len() > n);
    results(&events, &name)[n]
}

fn results(events: &[Ev], name: &str) -> Vec<i32> {
    events
        .iter()
        .filter_map(|e| match e {
            Ev::FileFinished { file_name, rslt } if file_name == name => Some(*rslt),
            _ => None,
        })
        .collect()
}

/// The states `FileStateChanged` gave `name` so far, once there are at least `count`.
fn wait_states(name: &str, count: usize) -> Vec<i32> {
    let events = RECORDER.wait_until(|events| state_list(events, name).len() >= count);
    state_list(&events, name)
}

fn states(name: &str) -> Vec<i32> {
    state_list(&RECORDER.events(), name)
}

fn state_list(events: &[Ev], name: &str) -> Vec<i32> {
    events
        .iter()
        .filter_map(|e| match e {
            Ev::FileStateChanged { file_name, state } if file_name == name => Some(*state),
            _ => None,
        })
        .collect()
}

fn progress(name: &str) -> Vec<(i64, i64)> {
    RECORDER
        .events()
        .iter()
        .filter_map(|e| match e {
            Ev::FileProgress {
                file_name,
                finised_size,
                total_size,
            } if file_name == name => Some((*finised_size, *total_size)),
            _ => None,
        })
        .collect()
}

fn position(events: &[Ev], pred: impl Fn(&Ev) -> bool) -> usize {
    events.iter().position(pred).expect("the event happened")
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn sdk_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| name.starts_with("crvideo-"))
        .collect()
}

#[test]
fn before_init_every_call_is_not_init() {
    let _g = serial();
    let json = json!({"bUploadType":0,"filePathName":"/tmp/x","httpUrl":"http://127.0.0.1:1/"});
    assert_eq!(start(&json.to_string()), NOT_INIT);
    assert_eq!(cancel(Path::new("/tmp/x")), NOT_INIT);
    assert_eq!(remove(Path::new("/tmp/x"), true), NOT_INIT);
    assert_eq!(info(Path::new("/tmp/x")), Err(NOT_INIT));
    assert_eq!(taken(CRVideo_GetAllTransferInfos()), Err(NOT_INIT));
    assert_eq!(CRVideo_SetFileUploadRate(0), NOT_INIT);
    assert_eq!(CRVideo_SetFileDownloadRate(0), NOT_INIT);
}

#[test]
fn bad_arguments_are_param_err_with_no_callback() {
    let _g = serial();
    init("{}");
    assert_eq!(
        unsafe { CRVideo_StartTransferFile(std::ptr::null()) },
        PARAM_ERR
    );
    for bad in [
        "",
        "{",
        "[1]",
        r#"{"filePathName":"/tmp/x","httpUrl":"http://h/"}"#,
        r#"{"bUploadType":0,"httpUrl":"http://h/"}"#,
        r#"{"bUploadType":0,"filePathName":"/tmp/x"}"#,
        r#"{"bUploadType":0,"filePathName":"relative/x","httpUrl":"http://h/"}"#,
        r#"{"bUploadType":5,"filePathName":"/tmp/x","httpUrl":"http://h/"}"#,
        r#"{"bUploadType":1,"filePathName":"/tmp/x","httpUrl":"http://h/","extParams":"a=b"}"#,
    ] {
        assert_eq!(start(bad), PARAM_ERR, "{bad}");
    }
    assert_eq!(
        unsafe { CRVideo_CancelFileTransfer(std::ptr::null()) },
        PARAM_ERR
    );
    assert_eq!(
        unsafe { CRVideo_RmTransferInfo(std::ptr::null(), 0) },
        PARAM_ERR
    );
    assert_eq!(
        taken(unsafe { CRVideo_GetTransferInfo(std::ptr::null()) }),
        Err(PARAM_ERR)
    );
    assert_eq!(CRVideo_SetFileUploadRate(-1), PARAM_ERR);
    assert_eq!(CRVideo_SetFileDownloadRate(i64::MIN), PARAM_ERR);
    // Unknown transfers.
    let unknown = Path::new("/nowhere/never-started");
    assert_eq!(cancel(unknown), TRANSID_INVALID);
    assert_eq!(remove(unknown, false), TRANSID_INVALID);
    assert_eq!(info(unknown), Err(TRANSID_INVALID));
    assert_eq!(taken(CRVideo_GetAllTransferInfos()), Ok("[]".to_owned()));
    CRVideo_Uninit();
    assert!(
        !RECORDER
            .events()
            .iter()
            .any(|e| matches!(e, Ev::FileFinished { .. } | Ev::FileStateChanged { .. })),
        "{:?}",
        RECORDER.events()
    );
}

#[test]
fn a_download_arrives_identical_through_a_hidden_partial_file() {
    let _g = serial();
    let server = HttpServer::start();
    let bytes = test_bytes(3 * 1024 * 1024 + 17, 1);
    server.put_file("movie.bin", bytes.clone());
    init("{}");
    let dir = TempDir::new("http-dl");
    let target = dir.path.join("movie.bin");
    let url = server.url("/files/movie.bin");
    assert_eq!(download(&target, &url), 0);
    assert_eq!(finished(&target), 0);
    assert_eq!(
        std::fs::read(&target).unwrap(),
        bytes,
        "the file arrived whole"
    );
    // Only the file is left: the partial file is gone.
    assert_eq!(files_in(&dir.path), vec!["movie.bin".to_owned()]);
    let name = name_of(&target);
    assert_eq!(states(&name), vec![2, 3]);
    let total = bytes.len() as i64;
    let reports = progress(&name);
    assert_eq!(reports.last(), Some(&(total, total)));
    assert!(
        reports.windows(2).all(|w| w[0].0 < w[1].0),
        "progress only grows, never repeated: {reports:?}"
    );
    let events = RECORDER.events();
    let head = events
        .iter()
        .find_map(|e| match e {
            Ev::FileHttpRspHeader {
                file_name,
                rsp_header,
            } if *file_name == name => Some(rsp_header.clone()),
            _ => None,
        })
        .expect("FileHttpRspHeader");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains(&format!("content-length: {total}\r\n")),
        "{head}"
    );
    // No content callback for a download, and FileFinished comes last.
    assert!(!events
        .iter()
        .any(|e| matches!(e, Ev::FileHttpRspContent { .. })));
    assert!(matches!(events.last(), Some(Ev::FileFinished { .. })));
    assert_eq!(
        info(&target).unwrap(),
        json!({"fileName":name,"state":3,"finished":total,"total":total,"httpUrl":url})
    );
    assert_eq!(
        serde_json::from_str::<Value>(&taken(CRVideo_GetAllTransferInfos()).unwrap()).unwrap(),
        json!([{"fileName":name,"state":3,"finished":total,"total":total,"httpUrl":url}])
    );
}

#[test]
fn the_partial_file_is_there_while_downloading() {
    let _g = serial();
    let server = HttpServer::start();
    let bytes = test_bytes(1024 * 1024, 2);
    server.put_file("slow.bin", bytes.clone());
    init("{}");
    assert_eq!(CRVideo_SetFileDownloadRate(256 * 1024), 0);
    let dir = TempDir::new("http-partial");
    let target = dir.path.join("slow.bin");
    assert_eq!(download(&target, &server.url("/files/slow.bin")), 0);
    let name = name_of(&target);
    RECORDER.wait_for(|e| matches!(e, Ev::FileProgress { file_name, finised_size, .. } if *file_name == name && *finised_size > 0));
    assert_eq!(files_in(&dir.path), vec![".slow.bin.crvpart".to_owned()]);
    assert_eq!(info(&target).unwrap()["state"], 2);
    assert_eq!(finished(&target), 0);
    assert_eq!(files_in(&dir.path), vec!["slow.bin".to_owned()]);
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
}

#[test]
fn a_put_upload_sends_the_file_with_ext_params_as_headers() {
    let _g = serial();
    let server = HttpServer::start();
    init("{}");
    let dir = TempDir::new("http-put");
    let source = dir.path.join("report.pdf");
    let bytes = test_bytes(2 * 1024 * 1024 + 5, 3);
    std::fs::write(&source, &bytes).unwrap();
    let spec = json!({"bUploadType":1,"filePathName":source,"httpUrl":server.url("/upload/report"),
        "extParams":{"X-Token":"t0k3n","X-Count":7}});
    assert_eq!(start(&spec.to_string()), 0);
    assert_eq!(finished(&source), 0);
    let upload = server.upload("report").expect("the server got it");
    assert_eq!(upload.body, bytes, "the bytes arrived whole");
    let header = |n: &str| {
        upload
            .headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("x-token").as_deref(), Some("t0k3n"));
    assert_eq!(header("x-count").as_deref(), Some("7"));
    assert_eq!(header("content-length"), Some(bytes.len().to_string()));
    assert_eq!(server.seen()[0].method, "PUT");
    let name = name_of(&source);
    let events = RECORDER.events();
    let content = events.iter().find_map(|e| match e {
        Ev::FileHttpRspContent { file_name, content } if *file_name == name => {
            Some(content.clone())
        }
        _ => None,
    });
    assert_eq!(content, Some(format!("stored {} bytes", bytes.len())));
    assert!(events.iter().any(
        |e| matches!(e, Ev::FileHttpRspHeader { rsp_header, .. } if rsp_header.starts_with("HTTP/1.1 201 Created"))
    ));
    let total = bytes.len() as i64;
    assert_eq!(progress(&name).last(), Some(&(total, total)));
    // The source is left alone.
    assert_eq!(std::fs::read(&source).unwrap(), bytes);
}

#[test]
fn a_multipart_upload_sends_fields_and_the_file_part() {
    let _g = serial();
    let server = HttpServer::start();
    init("{}");
    let dir = TempDir::new("http-form");
    let source = dir.path.join("photo.jpg");
    let bytes = test_bytes(700 * 1024 + 3, 4);
    std::fs::write(&source, &bytes).unwrap();
    let spec = json!({"bUploadType":1,"filePathName":source,"httpUrl":server.url("/form/photo"),
        "extParams":{"album":"holidays","note":"été à la mer"},
        "transforCfg":{"extParamsTransfType":1}});
    assert_eq!(start(&spec.to_string()), 0);
    assert_eq!(finished(&source), 0);
    let upload = server.upload("photo").expect("the server got it");
    assert_eq!(server.seen()[0].method, "POST");
    let mut fields = upload.fields.clone();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("album".to_owned(), "holidays".to_owned()),
            ("note".to_owned(), "été à la mer".to_owned())
        ]
    );
    assert_eq!(upload.files.len(), 1);
    let (field, file_name, received) = &upload.files[0];
    assert_eq!((field.as_str(), file_name.as_str()), ("file", "photo.jpg"));
    assert_eq!(*received, bytes, "the file part arrived whole");
    // extParams went into the form, not the headers.
    assert!(!upload.headers.iter().any(|(k, _)| k == "album"));
    let name = name_of(&source);
    assert!(RECORDER.events().iter().any(|e| matches!(e,
        Ev::FileHttpRspContent { file_name, content } if *file_name == name && content == "form with 2 fields and 1 files")));
}

#[test]
fn http_errors_are_1000_plus_the_status() {
    let _g = serial();
    let server = HttpServer::start();
    init("{}");
    let dir = TempDir::new("http-status");
    let missing = dir.path.join("missing.bin");
    let broken = dir.path.join("broken.bin");
    assert_eq!(download(&missing, &server.url("/status/404")), 0);
    assert_eq!(download(&broken, &server.url("/status/500")), 0);
    assert_eq!(finished(&missing), 1404);
    assert_eq!(finished(&broken), 1500);
    // The app saw the answer's head, and no file (not even a partial one) is left.
    assert!(RECORDER.events().iter().any(|e| matches!(e,
        Ev::FileHttpRspHeader { rsp_header, .. } if rsp_header.starts_with("HTTP/1.1 404 Not Found"))));
    assert_eq!(files_in(&dir.path), Vec::<String>::new());
    // An upload's error answer comes with its body.
    let source = dir.path.join("up.bin");
    std::fs::write(&source, b"abc").unwrap();
    let spec = json!({"bUploadType":1,"filePathName":source,"httpUrl":server.url("/status/403")});
    assert_eq!(start(&spec.to_string()), 0);
    assert_eq!(finished(&source), 1403);
    let name = name_of(&source);
    assert!(RECORDER.events().iter().any(|e| matches!(e,
        Ev::FileHttpRspContent { file_name, content } if *file_name == name && content == "status 403")));
}

#[test]
fn an_unreachable_server_is_3_and_a_foreign_scheme_is_6() {
    let _g = serial();
    init("{}");
    let dir = TempDir::new("http-unreachable");
    // A port nobody listens on (bound, then let go).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = dir.path.join("refused.bin");
    assert_eq!(download(&refused, &format!("http://127.0.0.1:{port}/x")), 0);
    assert_eq!(finished(&refused), 3);
    let no_host = dir.path.join("nohost.bin");
    assert_eq!(download(&no_host, "http://no-such-host.invalid/x"), 0);
    assert_eq!(finished(&no_host), 3);
    let ftp = dir.path.join("ftp.bin");
    assert_eq!(download(&ftp, "ftp://127.0.0.1/x"), 0);
    assert_eq!(finished(&ftp), 6);
    // 6 comes alone: nothing started, nothing recorded.
    assert_eq!(states(&name_of(&ftp)), Vec::<i32>::new());
    assert_eq!(info(&ftp), Err(TRANSID_INVALID));
    assert_eq!(files_in(&dir.path), Vec::<String>::new());
}

#[test]
fn the_same_file_twice_is_7_and_the_first_goes_on() {
    let _g = serial();
    let server = HttpServer::start();
    let bytes = test_bytes(100_000, 5);
    server.put_file("twice.bin", bytes.clone());
    init("{}");
    let dir = TempDir::new("http-twice");
    let target = dir.path.join("twice.bin");
    assert_eq!(download(&target, &server.url("/gate/twice.bin")), 0);
    server.wait_seen("/gate/", 1);
    assert_eq!(download(&target, &server.url("/files/twice.bin")), 0);
    assert_eq!(finished_nth(&target, 0), 7);
    assert_eq!(info(&target).unwrap()["state"], 2);
    server.open_gate("twice.bin");
    assert_eq!(finished_nth(&target, 1), 0);
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
    assert_eq!(server.seen().len(), 1, "the second start sent nothing");
}

#[test]
fn redirects_are_followed_up_to_five() {
    let _g = serial();
    let server = HttpServer::start();
    let bytes = test_bytes(50_000, 6);
    server.put_file("r.bin", bytes.clone());
    init("{}");
    let dir = TempDir::new("http-redirect");
    let two = dir.path.join("two.bin");
    assert_eq!(download(&two, &server.url("/hop/2/r.bin")), 0);
    assert_eq!(finished(&two), 0);
    assert_eq!(std::fs::read(&two).unwrap(), bytes);
    let five = dir.path.join("five.bin");
    assert_eq!(download(&five, &server.url("/hop/5/r.bin")), 0);
    assert_eq!(finished(&five), 0);
    assert_eq!(std::fs::read(&five).unwrap(), bytes);
    // The sixth redirect is the answer: 1000 + 302.
    let six = dir.path.join("six.bin");
    assert_eq!(download(&six, &server.url("/hop/6/r.bin")), 0);
    assert_eq!(finished(&six), 1302);
    let endless = dir.path.join("loop.bin");
    assert_eq!(download(&endless, &server.url("/loop")), 0);
    assert_eq!(finished(&endless), 1302);
    assert_eq!(
        server.wait_seen("/loop", 6).len(),
        6,
        "the request and 5 redirects"
    );
    assert!(!six.exists() && !endless.exists());
}

#[test]
fn a_server_that_never_answers_times_out_with_4() {
    let _g = serial();
    let server = HttpServer::start();
    init(r#"{"httpTimeoutMs":300}"#);
    let dir = TempDir::new("http-stall");
    let target = dir.path.join("stalled.bin");
    let began = Instant::now();
    assert_eq!(download(&target, &server.url("/stall")), 0);
    assert_eq!(finished(&target), 4);
    assert!(began.elapsed() >= Duration::from_millis(300));
    // An upload the server never answers, too.
    let source = dir.path.join("up.bin");
    std::fs::write(&source, test_bytes(10_000, 7)).unwrap();
    let spec = json!({"bUploadType":1,"filePathName":source,"httpUrl":server.url("/stall")});
    assert_eq!(start(&spec.to_string()), 0);
    assert_eq!(finished(&source), 4);
}

#[test]
fn cancel_keeps_the_partial_file_and_a_new_start_resumes_with_range() {
    let _g = serial();
    let server = HttpServer::start();
    let bytes = test_bytes(4 * 1024 * 1024, 8);
    server.put_file("big.bin", bytes.clone());
    init("{}");
    assert_eq!(CRVideo_SetFileDownloadRate(1024 * 1024), 0);
    let dir = TempDir::new("http-resume");
    let target = dir.path.join("big.bin");
    let name = name_of(&target);
    assert_eq!(download(&target, &server.url("/files/big.bin")), 0);
    RECORDER.wait_for(|e| {
        matches!(e, Ev::FileProgress { file_name, finised_size, .. }
        if *file_name == name && *finised_size >= 512 * 1024)
    });
    assert_eq!(cancel(&target), 0);
    let partial = dir.path.join(".big.bin.crvpart");
    let kept = std::fs::metadata(&partial).unwrap().len();
    assert!(kept >= 512 * 1024 && kept < bytes.len() as u64, "{kept}");
    assert_eq!(
        &std::fs::read(&partial).unwrap()[..],
        &bytes[..kept as usize]
    );
    let record = info(&target).unwrap();
    assert_eq!(
        (record["state"].as_i64(), record["finished"].as_u64()),
        (Some(0), Some(kept))
    );
    assert_eq!(wait_states(&name, 2), vec![2, 0]);
    assert!(!target.exists());
    // Cancelling what is not running is nothing to do.
    assert_eq!(cancel(&target), 0);
    assert_eq!(CRVideo_SetFileDownloadRate(0), 0);
    assert_eq!(download(&target, &server.url("/files/big.bin")), 0);
    assert_eq!(finished(&target), 0);
    assert_eq!(
        std::fs::read(&target).unwrap(),
        bytes,
        "resumed to the identical file"
    );
    let seen = server.wait_seen("/files/big.bin", 2);
    assert_eq!(seen[0].range, None);
    assert_eq!(seen[1].range, Some(format!("bytes={kept}-")));
    assert_eq!(
        results(&RECORDER.events(), &name),
        vec![0],
        "one FileFinished: the cancelled run said nothing"
    );
    assert_eq!(files_in(&dir.path), vec!["big.bin".to_owned()]);
}

#[test]
fn a_server_ignoring_range_makes_the_resume_start_over() {
    let _g = serial();
    let server = HttpServer::start();
    let bytes = test_bytes(2 * 1024 * 1024, 9);
    server.put_file("whole.bin", bytes.clone());
    init("{}");
    assert_eq!(CRVideo_SetFileDownloadRate(1024 * 1024), 0);
    let dir = TempDir::new("http-whole");
    let target = dir.path.join("whole.bin");
    let name = name_of(&target);
    assert_eq!(download(&target, &server.url("/whole/whole.bin")), 0);
    RECORDER.wait_for(|e| {
        matches!(e, Ev::FileProgress { file_name, finised_size, .. }
        if *file_name == name && *finised_size >= 256 * 1024)
    });
    assert_eq!(cancel(&target), 0);
    assert!(dir.path.join(".whole.bin.crvpart").exists());
    assert_eq!(CRVideo_SetFileDownloadRate(0), 0);
    assert_eq!(download(&target, &server.url("/whole/whole.bin")), 0);
    assert_eq!(finished(&target), 0);
    let seen = server.wait_seen("/whole/", 2);
    assert!(seen[1].range.is_some(), "it asked for the rest");
    assert_eq!(
        std::fs::read(&target).unwrap(),
        bytes,
        "the 200 answer replaced the partial bytes"
    );
}

#[test]
fn three_run_at_once_and_the_fourth_waits_its_turn() {
    let _g = serial();
    let server = HttpServer::start();
    init("{}");
    let dir = TempDir::new("http-queue");
    let names = ["g1", "g2", "g3", "g4", "g5"];
    let mut targets = Vec::new();
    for (i, n) in names.iter().enumerate() {
        server.put_file(n, test_bytes(10_000 + i, 10 + i as u64));
        let target = dir.path.join(n);
        assert_eq!(download(&target, &server.url(&format!("/gate/{n}"))), 0);
        targets.push(target);
    }
    server.wait_seen("/gate/", 3);
    let name = |i: usize| name_of(&targets[i]);
    for i in 0..3 {
        assert_eq!(wait_states(&name(i), 1), vec![2]);
    }
    assert_eq!(wait_states(&name(3), 1), vec![1]);
    assert_eq!(wait_states(&name(4), 1), vec![1]);
    assert_eq!(info(&targets[3]).unwrap()["state"], 1);
    // The second finishes: the fourth (the first queued) starts, the fifth still waits.
    server.open_gate("g2");
    assert_eq!(finished(&targets[1]), 0);
    let seen = server.wait_seen("/gate/", 4);
    assert_eq!(seen[3].path, "/gate/g4");
    let events = RECORDER.wait_until(|events| {
        events.iter().any(
            |e| matches!(e, Ev::FileStateChanged { file_name, state: 2 } if *file_name == name(3)),
        )
    });
    let g2_done = position(
        &events,
        |e| matches!(e, Ev::FileFinished { file_name, .. } if *file_name == name(1)),
    );
    let g4_runs = position(
        &events,
        |e| matches!(e, Ev::FileStateChanged { file_name, state: 2 } if *file_name == name(3)),
    );
    assert!(g2_done < g4_runs);
    assert_eq!(states(&name(4)), vec![1]);
    for n in names {
        server.open_gate(n);
    }
    for target in &targets {
        assert_eq!(finished(target), 0);
    }
    assert_eq!(states(&name(4)), vec![1, 2, 3]);
    let all: Value = serde_json::from_str(&taken(CRVideo_GetAllTransferInfos()).unwrap()).unwrap();
    let listed: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fileName"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..5).map(name).collect();
    assert_eq!(listed, expected, "in the order they were started");
}

#[test]
fn a_cancelled_queued_transfer_never_starts() {
    let _g = serial();
    let server = HttpServer::start();
    init("{}");
    let dir = TempDir::new("http-queue-cancel");
    let mut targets = Vec::new();
    for n in ["q1", "q2", "q3", "q4"] {
        server.put_file(n, test_bytes(1000, 1));
        let target = dir.path.join(n);
        assert_eq!(download(&target, &server.url(&format!("/gate/{n}"))), 0);
        targets.push(target);
    }
    server.wait_seen("/gate/", 3);
    assert_eq!(cancel(&targets[3]), 0);
    assert_eq!(wait_states(&name_of(&targets[3]), 2), vec![1, 0]);
    for n in ["q1", "q2", "q3", "q4"] {
        server.open_gate(n);
    }
    for target in &targets[..3] {
        assert_eq!(finished(target), 0);
    }
    assert_eq!(server.seen().len(), 3);
    assert_eq!(info(&targets[3]).unwrap()["state"], 0);
}

#[test]
fn a_download_rate_limit_slows_it_down() {
    let _g = serial();
    let server = HttpServer::start();
    let bytes = test_bytes(1024 * 1024, 11);
    server.put_file("limited.bin", bytes.clone());
    init("{}");
    assert_eq!(CRVideo_SetFileDownloadRate(200 * 1024), 0);
    let dir = TempDir::new("http-rate");
    let target = dir.path.join("limited.bin");
    let began = Instant::now();
    assert_eq!(download(&target, &server.url("/files/limited.bin")), 0);
    assert_eq!(finished(&target), 0);
    let elapsed = began.elapsed();
    // 1 MiB at 200 KiB/s is 5 s; the bucket's burst and one chunk's debt can shave a little.
    assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
    // At most ten progress reports a second, plus the final one.
    let reports = progress(&name_of(&target)).len();
    assert!(
        reports as f64 <= elapsed.as_secs_f64() * 10.0 + 2.0,
        "{reports} in {elapsed:?}"
    );
    assert!(reports >= 10, "progress as the bytes move: {reports}");
}

#[test]
fn an_upload_rate_limit_slows_it_down() {
    let _g = serial();
    let server = HttpServer::start();
    init("{}");
    assert_eq!(CRVideo_SetFileUploadRate(256 * 1024), 0);
    let dir = TempDir::new("http-rate-up");
    let source = dir.path.join("up.bin");
    let bytes = test_bytes(768 * 1024, 12);
    std::fs::write(&source, &bytes).unwrap();
    let began = Instant::now();
    let spec = json!({"bUploadType":1,"filePathName":source,"httpUrl":server.url("/upload/up")});
    assert_eq!(start(&spec.to_string()), 0);
    assert_eq!(finished(&source), 0);
    let elapsed = began.elapsed();
    // 768 KiB at 256 KiB/s is 3 s.
    assert!(elapsed >= Duration::from_millis(2_000), "{elapsed:?}");
    assert_eq!(server.upload("up").unwrap().body, bytes);
}

#[test]
fn an_existing_target_or_a_missing_source_is_5_and_nothing_is_touched() {
    let _g = serial();
    let server = HttpServer::start();
    server.put_file("f.bin", test_bytes(1000, 13));
    init("{}");
    let dir = TempDir::new("http-fileop");
    let target = dir.path.join("f.bin");
    std::fs::write(&target, b"mine").unwrap();
    assert_eq!(download(&target, &server.url("/files/f.bin")), 0);
    assert_eq!(finished(&target), 5);
    assert_eq!(std::fs::read(&target).unwrap(), b"mine");
    assert_eq!(files_in(&dir.path), vec!["f.bin".to_owned()]);
    let missing = dir.path.join("missing.bin");
    let spec = json!({"bUploadType":1,"filePathName":missing,"httpUrl":server.url("/upload/m")});
    assert_eq!(start(&spec.to_string()), 0);
    assert_eq!(finished(&missing), 5);
    let no_dir = dir.path.join("no-such-dir").join("x.bin");
    assert_eq!(download(&no_dir, &server.url("/files/f.bin")), 0);
    assert_eq!(finished(&no_dir), 5);
    assert!(
        server.seen().is_empty(),
        "no request for a transfer that could not start"
    );
}

#[test]
fn rm_transfer_info_forgets_and_may_delete_the_files() {
    let _g = serial();
    let server = HttpServer::start();
    let bytes = test_bytes(2 * 1024 * 1024, 14);
    server.put_file("rm.bin", bytes.clone());
    init("{}");
    let dir = TempDir::new("http-rm");
    let done = dir.path.join("done.bin");
    assert_eq!(download(&done, &server.url("/files/rm.bin")), 0);
    assert_eq!(finished(&done), 0);
    assert_eq!(remove(&done, false), 0);
    assert_eq!(info(&done), Err(TRANSID_INVALID));
    assert!(done.exists(), "removeLocFile 0 keeps the file");
    assert_eq!(remove(&done, false), TRANSID_INVALID);
    // A running download removed with its files: the record, the partial file, all gone.
    assert_eq!(CRVideo_SetFileDownloadRate(512 * 1024), 0);
    let running = dir.path.join("running.bin");
    let name = name_of(&running);
    assert_eq!(download(&running, &server.url("/files/rm.bin")), 0);
    RECORDER.wait_for(|e| {
        matches!(e, Ev::FileProgress { file_name, finised_size, .. }
        if *file_name == name && *finised_size > 0)
    });
    assert_eq!(remove(&running, true), 0);
    assert_eq!(info(&running), Err(TRANSID_INVALID));
    assert_eq!(files_in(&dir.path), vec!["done.bin".to_owned()]);
    // A downloaded file, deleted on request; then the name starts afresh.
    assert_eq!(CRVideo_SetFileDownloadRate(0), 0);
    assert_eq!(download(&done, &server.url("/files/rm.bin")), 0);
    assert_eq!(
        finished_nth(&done, 1),
        5,
        "the file is there: never overwritten"
    );
    assert_eq!(remove(&done, true), 0);
    assert_eq!(files_in(&dir.path), Vec::<String>::new());
    assert_eq!(download(&done, &server.url("/files/rm.bin")), 0);
    assert_eq!(finished_nth(&done, 2), 0);
    assert_eq!(std::fs::read(&done).unwrap(), bytes);
    // The removed running transfer never reported again.
    assert_eq!(results(&RECORDER.events(), &name), Vec::<i32>::new());
}

#[test]
fn https_is_verified_with_the_init_ca_file() {
    let _g = serial();
    let dir = TempDir::new("http-tls");
    let (ca_file, cert, key) = test_pki(&dir.path);
    let server = HttpServer::start_tls(&cert, &key);
    let bytes = test_bytes(300_000, 15);
    server.put_file("secret.bin", bytes.clone());
    let url = server.url("/files/secret.bin");
    assert!(url.starts_with("https://"));
    init(&json!({"caFile": ca_file}).to_string());
    let target = dir.path.join("secret.bin");
    assert_eq!(download(&target, &url), 0);
    assert_eq!(finished(&target), 0);
    assert_eq!(std::fs::read(&target).unwrap(), bytes);
    CRVideo_Uninit();
    // Without the CA the same server is not trusted: no connection.
    RECORDER.clear();
    init("{}");
    let untrusted = dir.path.join("untrusted.bin");
    assert_eq!(download(&untrusted, &url), 0);
    assert_eq!(finished(&untrusted), 3);
    assert!(!untrusted.exists());
    assert_eq!(
        server.seen().len(),
        1,
        "no request went over the untrusted connection"
    );
}

#[test]
fn uninit_stops_every_transfer_and_leaves_no_thread() {
    let _g = serial();
    let server = HttpServer::start();
    server.put_file("u.bin", test_bytes(4 * 1024 * 1024, 16));
    init("{}");
    assert_eq!(CRVideo_SetFileDownloadRate(512 * 1024), 0);
    let dir = TempDir::new("http-uninit");
    let target = dir.path.join("u.bin");
    let name = name_of(&target);
    assert_eq!(download(&target, &server.url("/files/u.bin")), 0);
    let stalled = dir.path.join("stalled.bin");
    assert_eq!(download(&stalled, &server.url("/stall")), 0);
    RECORDER.wait_for(|e| {
        matches!(e, Ev::FileProgress { file_name, finised_size, .. }
        if *file_name == name && *finised_size > 0)
    });
    CRVideo_Uninit();
    assert_eq!(
        sdk_threads(),
        Vec::<String>::new(),
        "every SDK thread joined"
    );
    // The partial file stays (a later start resumes it); nothing else is reported.
    assert!(dir.path.join(".u.bin.crvpart").exists());
    assert!(!target.exists());
    assert!(results(&RECORDER.events(), &name).is_empty());
    // After a new Init the same download resumes from the partial file.
    init("{}");
    let kept = std::fs::metadata(dir.path.join(".u.bin.crvpart"))
        .unwrap()
        .len();
    assert_eq!(download(&target, &server.url("/files/u.bin")), 0);
    assert_eq!(finished(&target), 0);
    let seen = server.wait_seen("/files/u.bin", 2);
    assert_eq!(seen[1].range, Some(format!("bytes={kept}-")));
    assert_eq!(
        std::fs::read(&target).unwrap(),
        test_bytes(4 * 1024 * 1024, 16)
    );
}

#[test]
fn a_header_http_cannot_carry_is_2_and_nothing_is_sent() {
    let _g = serial();
    let server = HttpServer::start();
    server.put_file("h.bin", test_bytes(1000, 17));
    init("{}");
    let dir = TempDir::new("http-header");
    let target = dir.path.join("h.bin");
    let spec = json!({"bUploadType":0,"filePathName":target,"httpUrl":server.url("/files/h.bin"),
        "extParams":{"Bad Name":"v"}});
    assert_eq!(start(&spec.to_string()), 0);
    assert_eq!(finished(&target), 2);
    assert_eq!(states(&name_of(&target)), Vec::<i32>::new());
    assert_eq!(info(&target), Err(TRANSID_INVALID));
    // As a multipart form field the same name is fine.
    let source = dir.path.join("up.bin");
    std::fs::write(&source, b"x").unwrap();
    let spec = json!({"bUploadType":1,"filePathName":source,"httpUrl":server.url("/form/f"),
        "extParams":{"Bad Name":"v"},"transforCfg":{"extParamsTransfType":1}});
    assert_eq!(start(&spec.to_string()), 0);
    assert_eq!(finished(&source), 0);
    assert_eq!(
        server.upload("f").unwrap().fields,
        vec![("Bad Name".to_owned(), "v".to_owned())]
    );
    // A form field name with a quote cannot be carried.
    let quoted = dir.path.join("quoted.bin");
    std::fs::write(&quoted, b"x").unwrap();
    let spec = json!({"bUploadType":1,"filePathName":quoted,"httpUrl":server.url("/form/q"),
        "extParams":{"a\"b":"v"},"transforCfg":{"extParamsTransfType":1}});
    assert_eq!(start(&spec.to_string()), 0);
    assert_eq!(finished(&quoted), 2);
    assert_eq!(
        server.seen().len(),
        1,
        "only the first upload reached the server"
    );
}
