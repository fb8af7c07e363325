//! Init/Uninit, argument checking and the callback table, through the C ABI.

mod common;

use std::ffi::{c_char, CStr};
use std::ptr::null;

use common::*;
use crvideosdk::ffi::callbacks::CRVideo_Callbacks;
use crvideosdk::ffi::lifecycle::*;
use crvideosdk::ffi::session::*;

const NOT_INIT: i32 = 11;
const PARAM_ERR: i32 = 5;

fn text(p: *const c_char) -> String {
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

#[test]
fn every_call_before_init_is_not_init() {
    let _g = serial();
    let addr = cstr("127.0.0.1:1");
    let cbs = recording_callbacks();
    unsafe {
        assert_eq!(CRVideo_SetServerAddr(addr.as_ptr()), NOT_INIT);
        assert_eq!(CRVideo_SetCallbacks(&cbs, std::ptr::null_mut()), NOT_INIT);
    }
    assert_eq!(login("demo", "demo123", "a", "a", ""), NOT_INIT);
    assert_eq!(CRVideo_Logout(), NOT_INIT);
    assert_eq!(CRVideo_PollEvents(0), -NOT_INIT);
    // These need no instance.
    assert_eq!(text(CRVideo_GetVersion()), env!("CARGO_PKG_VERSION"));
    unsafe { CRVideo_FreeString(std::ptr::null_mut()) };
    CRVideo_Uninit();
}

#[test]
fn error_descriptions_are_static_english_text() {
    assert_eq!(text(CRVideo_GetErrorDesc(12)), "not logged in");
    assert_eq!(text(CRVideo_GetErrorDesc(0)), "no error");
    assert_eq!(text(CRVideo_GetErrorDesc(208)), "unknown error code");
    assert_eq!(text(CRVideo_GetErrorDesc(-1)), "unknown error code");
    // The same pointer each time: static, never to be freed.
    assert_eq!(CRVideo_GetErrorDesc(7), CRVideo_GetErrorDesc(7));
}

#[test]
fn init_rejects_bad_params_and_is_idempotent() {
    let _g = serial();
    for bad in [
        "{",
        "[1]",
        r#"{"timeoutMs":5}"#,
        r#"{"dispatch":"fibers"}"#,
        r#"{"serverAddr":"nohost"}"#,
    ] {
        let p = cstr(bad);
        assert_eq!(unsafe { CRVideo_Init(p.as_ptr()) }, PARAM_ERR, "{bad}");
        assert_eq!(
            CRVideo_Logout(),
            NOT_INIT,
            "a failed Init must leave the SDK uninitialised"
        );
    }
    let invalid_utf8 = b"{\"tmpDir\":\"\xff\"}\0";
    assert_eq!(
        unsafe { CRVideo_Init(invalid_utf8.as_ptr().cast()) },
        PARAM_ERR
    );

    assert_eq!(unsafe { CRVideo_Init(null()) }, 0);
    let addr = cstr("127.0.0.1:9");
    assert_eq!(unsafe { CRVideo_SetServerAddr(addr.as_ptr()) }, 0);
    // A second Init changes nothing: not the dispatch mode, not the server list.
    let other = cstr(r#"{"dispatch":"poll","serverAddr":"10.0.0.1:1"}"#);
    assert_eq!(unsafe { CRVideo_Init(other.as_ptr()) }, 0);
    assert_eq!(CRVideo_PollEvents(0), -PARAM_ERR, "still in thread mode");
    CRVideo_Uninit();
    CRVideo_Uninit();
    assert_eq!(CRVideo_Logout(), NOT_INIT);
}

#[test]
fn init_uninit_init_works_again() {
    let _g = serial();
    let server = start_server();
    for round in 0..3 {
        init_with_server(server.addr());
        let user = format!("cycle{round}");
        assert_eq!(login_ok(&user), user);
        CRVideo_Uninit();
        RECORDER.clear();
    }
}

#[test]
fn null_and_invalid_utf8_arguments_are_param_err_without_callback() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    let bad_utf8 = c"\xc3\x28".as_ptr();
    let ok = cstr("x");
    unsafe {
        assert_eq!(CRVideo_SetServerAddr(null()), PARAM_ERR);
        assert_eq!(CRVideo_SetServerAddr(bad_utf8), PARAM_ERR);
        let empty = cstr("");
        assert_eq!(CRVideo_SetServerAddr(empty.as_ptr()), PARAM_ERR);
        assert_eq!(
            CRVideo_SetCallbacks(std::ptr::null(), std::ptr::null_mut()),
            PARAM_ERR
        );
        let tiny = CRVideo_Callbacks {
            size: 3,
            ..Default::default()
        };
        assert_eq!(CRVideo_SetCallbacks(&tiny, std::ptr::null_mut()), PARAM_ERR);
        // Each of the five required Login strings, NULL and then invalid UTF-8.
        for position in 0..5 {
            for bad in [null(), bad_utf8] {
                let mut args = [ok.as_ptr(); 6];
                args[position] = bad;
                let rc = CRVideo_Login(args[0], args[1], args[2], args[3], args[4], args[5]);
                assert_eq!(rc, PARAM_ERR, "argument {position}");
            }
        }
        let mut args = [ok.as_ptr(); 6];
        args[5] = bad_utf8;
        assert_eq!(
            CRVideo_Login(args[0], args[1], args[2], args[3], args[4], args[5]),
            PARAM_ERR,
            "cookie"
        );
    }
    // The server list survived the rejected calls, and none of them produced a callback:
    // the first event is the result of this valid login (cookie NULL = "").
    let (t, p, n, u, a) = (
        cstr("demo"),
        cstr("demo123"),
        cstr("N"),
        cstr("u1"),
        cstr(""),
    );
    assert_eq!(
        unsafe {
            CRVideo_Login(
                t.as_ptr(),
                p.as_ptr(),
                n.as_ptr(),
                u.as_ptr(),
                a.as_ptr(),
                null(),
            )
        },
        0
    );
    assert_eq!(
        RECORDER.wait_count(1)[0],
        Ev::LoginSuccess {
            usr_id: "u1".into(),
            cookie: "".into()
        }
    );
    CRVideo_Uninit();
}

#[test]
fn login_without_server_address_is_no_serverinfo() {
    let _g = serial();
    init("{}");
    assert_eq!(login("demo", "demo123", "a", "a", ""), 201);
    CRVideo_Uninit();
}

#[test]
fn only_the_members_inside_size_are_used() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    // A table as an older program would have compiled it, holding only `size` and
    // `LoginSuccess`; the size even ends inside the next member, which must not yield half
    // a pointer.
    let mut cbs = recording_callbacks();
    cbs.size = 2 * std::mem::size_of::<usize>() + 3;
    assert_eq!(
        unsafe { CRVideo_SetCallbacks(&cbs, std::ptr::null_mut()) },
        0
    );
    assert_eq!(login_ok("sized"), "sized");
    // LoginFail (LOGINSTATE_ERROR) lies beyond the size: Uninit delivers everything queued,
    // so had it been used it would be recorded.
    assert_eq!(login("demo", "demo123", "a", "sized", "twice"), 0);
    CRVideo_Uninit();
    assert_eq!(
        RECORDER.events(),
        vec![Ev::LoginSuccess {
            usr_id: "sized".into(),
            cookie: "ck".into()
        }]
    );
}

#[test]
fn poll_mode_runs_callbacks_on_the_polling_thread() {
    let _g = serial();
    let server = start_server();
    init(&format!(
        r#"{{"serverAddr":"{}","dispatch":"poll"}}"#,
        server.addr()
    ));
    assert_eq!(CRVideo_PollEvents(-1), -PARAM_ERR);
    assert_eq!(login("demo", "demo123", "p", "poller", "c"), 0);
    let mut ran = 0;
    while ran == 0 {
        let n = CRVideo_PollEvents(100);
        assert!(n >= 0);
        ran += n;
    }
    let records = RECORDER.records();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].ev,
        Ev::LoginSuccess {
            usr_id: "poller".into(),
            cookie: "c".into()
        }
    );
    assert_eq!(records[0].thread, std::thread::current().id());
    // Uninit in poll mode runs what is still queued on the caller's thread.
    assert_eq!(login("demo", "demo123", "p", "poller", "again"), 0);
    CRVideo_Uninit();
    assert_eq!(
        RECORDER.events()[1],
        Ev::LoginFail {
            sdk_err: 9,
            cookie: "again".into()
        }
    );
}

#[test]
fn cookies_are_capped() {
    let _g = serial();
    let server = start_server();
    init(&format!(
        r#"{{"serverAddr":"{}","maxCookieBytes":16}}"#,
        server.addr()
    ));
    assert_eq!(
        login("demo", "demo123", "a", "a", &"c".repeat(17)),
        PARAM_ERR
    );
    assert_eq!(login("demo", "demo123", "a", "a", &"c".repeat(16)), 0);
    RECORDER.wait_count(1);
    // An ID request with an oversized cookie: its failure callback (with an empty cookie).
    let target = cstr("someone");
    let long = cstr(&"k".repeat(17));
    let id = unsafe {
        crvideosdk::ffi::calls::CRVideo_Call(target.as_ptr(), null(), null(), long.as_ptr())
    };
    assert!(!id.is_null());
    unsafe { CRVideo_FreeString(id) };
    RECORDER
        .wait_for(|e| matches!(e, Ev::CallFail { sdk_err: 5, cookie, .. } if cookie.is_empty()));
    CRVideo_Uninit();
    // The default is 4096 bytes.
    init(&format!(r#"{{"serverAddr":"{}"}}"#, server.addr()));
    assert_eq!(
        login("demo", "demo123", "a", "a", &"c".repeat(4097)),
        PARAM_ERR
    );
    CRVideo_Uninit();
}

/// Every export that returns a string returns NULL only with a reason for
/// `CRVideo_GetLastError`, and a string resets it.
#[test]
fn string_results_are_null_only_with_a_reason() {
    use crvideosdk::ffi::boards::CRVideo_CreateElementID;
    use crvideosdk::ffi::boundary::CRVideo_GetLastError;
    use crvideosdk::ffi::queues::CRVideo_GetAllQueueInfo;
    use crvideosdk::ffi::rooms::CRVideo_GetAllMembers;
    let _g = serial();
    let not_init = crvideosdk::ErrorCode::NotInit.code();
    let target = cstr("someone");
    let call =
        || unsafe { crvideosdk::ffi::calls::CRVideo_Call(target.as_ptr(), null(), null(), null()) };
    // Before Init: a getter, an ID request.
    for made in [CRVideo_GetAllMembers(), CRVideo_GetAllQueueInfo(), call()] {
        assert!(made.is_null());
        assert_eq!(CRVideo_GetLastError(), not_init);
    }
    // A string, and the reason is gone (element IDs need no Init).
    let id = CRVideo_CreateElementID();
    assert!(!id.is_null());
    assert_eq!(CRVideo_GetLastError(), 0);
    unsafe { CRVideo_FreeString(id) };
    // The reason is per thread.
    assert!(CRVideo_GetAllMembers().is_null());
    let other = std::thread::spawn(|| CRVideo_GetLastError())
        .join()
        .unwrap();
    assert_eq!((CRVideo_GetLastError(), other), (not_init, 0));
    init("{}");
    let members = CRVideo_GetAllMembers();
    assert!(!members.is_null());
    assert_eq!(CRVideo_GetLastError(), 0);
    assert_eq!(
        unsafe { std::ffi::CStr::from_ptr(members) }.to_str(),
        Ok("[]")
    );
    unsafe { CRVideo_FreeString(members) };
    CRVideo_Uninit();
}
