//! The generated header: current, complete and clean C99 / C++17.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::server_process::TempDir;
use crvideo_proto::ErrorCode;

fn committed_header() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/CRVideoSDK.h"))
        .unwrap()
}

#[test]
fn header_is_current() {
    let generated = std::fs::read_to_string(env!("CRVIDEOSDK_GENERATED_HEADER")).unwrap();
    assert!(
        committed_header() == generated,
        "include/CRVideoSDK.h differs from what the code generates: build outside CI (or copy {}) and commit it",
        env!("CRVIDEOSDK_GENERATED_HEADER")
    );
}

/// The files generated from CRVideo_Callbacks that are committed: each equals what the code
/// generates now.
#[test]
fn files_generated_from_the_callback_table_are_current() {
    for (committed, generated) in [
        ("include/CRVideoSDK.hpp", env!("CRVIDEOSDK_GENERATED_HPP")),
        (
            "tests/c/recorder.h",
            env!("CRVIDEOSDK_GENERATED_C_RECORDER"),
        ),
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(committed);
        let committed_text = std::fs::read_to_string(&path).unwrap();
        let generated_text = std::fs::read_to_string(generated).unwrap();
        assert!(
            committed_text == generated_text,
            "{committed} differs from what the code generates: build outside CI (or copy {generated}) and commit it"
        );
    }
}

#[test]
fn header_has_guards_cpp_linkage_and_version_macros() {
    let h = committed_header();
    assert!(h.contains("#ifndef CRVIDEOSDK_H\n#define CRVIDEOSDK_H"));
    assert!(h.contains("extern \"C\" {"));
    let define = |name: &str| {
        h.lines()
            .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} missing"))
            .to_string()
    };
    assert_eq!(
        define("CRVIDEOSDK_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert_eq!(
        define("CRVIDEOSDK_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    );
    assert_eq!(
        define("CRVIDEOSDK_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION_PATCH")
    );
    assert_eq!(
        define("CRVIDEOSDK_VERSION_STRING"),
        format!("\"{}\"", env!("CARGO_PKG_VERSION"))
    );
    for &code in ErrorCode::ALL {
        assert_eq!(
            define(&format!("CRVIDEOSDK_{}", code.name())),
            code.code().to_string()
        );
    }
}

/// Every function and callback of API.md sections 2, 3 and 7, callbacks in struct order.
#[test]
fn header_declares_the_contract() {
    let h = committed_header();
    for f in [
        "Init",
        "Uninit",
        "SetServerAddr",
        "SetCallbacks",
        "GetVersion",
        "FreeString",
        "GetErrorDesc",
        "Login",
        "Logout",
        "PollEvents",
        // Section 3.
        "SetDNDStatus",
        "GetUserStatus",
        "StartUserStatusNotify",
        "StopUserStatusNotify",
        "CreateMeeting",
        "DestroyMeeting",
        "GetMeetings",
        "Call",
        "AcceptCall",
        "RejectCall",
        "HungupCall",
        "ClientInvite",
        "ClientCancelInvite",
        "SendCmd",
        "SendBuffer",
        "SendBufferNoCopy",
        "SendFile",
        "CancelSend",
        // Section 7.
        "InitQueueDat",
        "RefreshAllQueueStatus",
        "GetAllQueueInfo",
        "GetQueueStatus",
        "GetQueuingInfo",
        "GetServingQueues",
        "StartQueuing",
        "StopQueuing",
        "StartService",
        "StopService",
        "ReqAssignUser",
        "AcceptAssignUser",
        "RejectAssignUser",
        // Section 8 (meeting room).
        "EnterMeeting",
        "ExitMeeting",
        "StopMeeting",
        "GetAllMembers",
        "OpenMic",
        "CloseMic",
        "OpenVideo",
        "CloseVideo",
        "SendIMmsg",
        "StartScreenShare",
        "StopScreenShare",
        "GiveCtrlRight",
        "ReleaseCtrlRight",
        "SwitchToPage",
        "SetVideoWallMode",
        "SetMainVideo",
        "CreateBoard",
        "CloseBoard",
        "CreateElementID",
        "AddBoardElement",
        "ModifyBoardElement",
        "DelBoardElement",
        "SetMouseHotSpot",
        "GetLastError",
        // Section 9, video.
        "CreateCustomVideoDev",
        "DestroyCustomVideoDev",
        "InputCustomVideoDat",
        "SetDefaultVideo",
        "GetDefaultVideo",
        "GetAllVideoInfo",
        "SetWatchVideos",
        "GetVideoImg",
        "FreeVideoImg",
        // Section 9, screen pixels.
        "SetScreenShareCfg",
        "SetCustomizeCatchScreen",
        "SetCustomizeScreenImg",
        "GetShareScreenDecodeImg",
        // Section 9, audio.
        "SetCustomAudioCapture",
        "PushCustomAudioDat",
        "StartGetAudioPCM",
        "StopGetAudioPCM",
        "SetCustomAudioPlayback",
        "PullCustomAudioDat",
        "GetMicEnergy",
        // Section 10, net disk and board backgrounds.
        "GetNetDiskSummary",
        "GetNetDiskFileList",
        "MakeNetDiskFileID",
        "UploadNetDiskFile",
        "DownloadNetDiskFile",
        "SetNetDiskTransportPause",
        "CancelNetDiskFile",
        "DeleteNetDiskFile",
        "SetBoardBkImage",
        // Section 11.
        "StartTransferFile",
        "CancelFileTransfer",
        "RmTransferInfo",
        "GetAllTransferInfos",
        "GetTransferInfo",
        "SetFileUploadRate",
        "SetFileDownloadRate",
    ] {
        assert!(h.contains(&format!("CRVideo_{f}(")), "CRVideo_{f} missing");
    }
    // Section 8's constants, with the original SDK's values.
    for (name, value) in [
        ("MAINPAGE_VIDEOWALL", 0),
        ("MAINPAGE_SHARE", 1),
        ("MAINPAGE_WHITEBOARD", 2),
        ("AUNKNOWN", 0),
        ("ACLOSE", 2),
        ("AOPENING", 4),
        ("VNULL", 1),
        ("VOPEN", 3),
        ("VFMT_YUV420P", 0),
        ("VFMT_ARGB32", 1),
        ("VFMT_RGBA32", 2),
    ] {
        let define = format!("#define CRVIDEOSDK_{name} {value}\n");
        assert!(h.contains(&define), "{define} missing");
    }
    let callbacks = [
        "LoginSuccess",
        "LoginFail",
        "LineOff",
        "SetDNDStatusSuccess",
        "SetDNDStatusFail",
        "GetUserStatusSuccess",
        "GetUserStatusFail",
        "StartUserStatusNotifyRslt",
        "NotifyUserStatus",
        "StopUserStatusNotifyRslt",
        "CreateMeetingSuccess",
        "CreateMeetingFail",
        "DestroyMeetingRslt",
        "GetMeetingsSuccess",
        "GetMeetingsFail",
        "CallSuccess",
        "CallFail",
        "AcceptCallSuccess",
        "AcceptCallFail",
        "RejectCallSuccess",
        "RejectCallFail",
        "HangupCallSuccess",
        "HangupCallFail",
        "ClientInviteRslt",
        "ClientCancelInviteRslt",
        "SendCmdRlst",
        "SendBufferRlst",
        "SendFileRlst",
        "SendProgress",
        "CancelSendRlst",
        "NotifyCallIn",
        "NotifyCallAccepted",
        "NotifyCallRejected",
        "NotifyCallHungup",
        "NotifyInviteStatus",
        "NotifyCmdData",
        "NotifyBufferData",
        "NotifyFileData",
        "NotifyCancelSend",
        // Appended by the queue feature (API.md section 7).
        "InitQueueDatRslt",
        "QueueStatusChanged",
        "QueuingInfoChanged",
        "StartQueuingRslt",
        "StopQueuingRslt",
        "StartServiceRslt",
        "StopServiceRslt",
        "ResponseAssignUserRslt",
        "AutoAssignUser",
        "ReqAssignUserRslt",
        "CancelAssignUser",
        // Appended by the meeting room (API.md section 8).
        "EnterMeetingRslt",
        "UserEnterMeeting",
        "UserLeftMeeting",
        "StopMeetingRslt",
        "MeetingStopped",
        "MeetingDropped",
        "AudioStatusChanged",
        "VideoStatusChanged",
        "SendIMmsgRlst",
        "NotifyIMmsg",
        "StartScreenShareRslt",
        "StopScreenShareRslt",
        "NotifyScreenShareStarted",
        "NotifyScreenShareStopped",
        "NotifyGiveCtrlRight",
        "NotifyReleaseCtrlRight",
        "NotifySwitchToPage",
        "NotifyVideoWallMode",
        "NotifyMainVideoChanged",
        "NetStateChanged",
        "NotifyInitBoards",
        "NotifyInitBoardPageDat",
        "NotifyCreateBoard",
        "NotifyCloseBoard",
        "NotifyAddBoardElement",
        "NotifyModifyBoardElement",
        "NotifyDelBoardElement",
        "NotifyMouseHotSpot",
        "Reconnecting",
        "Reconnected",
        // Appended by video (API.md section 9).
        "NotifyVideoData",
        "VideoDevChanged",
        "DefVideoChanged",
        "NotifyScreenShareData",
        "NotifyCatchScreen",
        "NotifyShareRectChanged",
        "MicEnergyUpdate",
        "NotifyAudioPCMDat",
        // Appended for the net disk and board backgrounds (API.md section 10).
        "GetNetDiskSummaryRslt",
        "GetNetDiskFileListRslt",
        "NotifyNetDiskIsFull",
        "NotifyNetDiskFileDeleteRslt",
        "NotifyNetDiskTransforProgress",
        "NotifyBoardBkImage",
        // Appended for HTTP file transfer (API.md section 11).
        "FileStateChanged",
        "FileHttpRspHeader",
        "FileHttpRspContent",
        "FileProgress",
        "FileFinished",
        // Appended for local recording (API.md section 12).
        "RecordStateChanged",
        "RecordErr",
        "NotifyRecordFileStateChanged",
        "NotifyRecordFileUploadProgress",
        "UploadRecordFileErr",
        // Appended for shared media playback (API.md section 12).
        "NotifyMediaOpened",
        "NotifyMediaStart",
        "NotifyMediaStop",
        "NotifyMediaPause",
        "NotifyPlayPosSetted",
        "NotifyMemberMediaData",
    ];
    let body = &h[h
        .find("typedef struct CRVideo_Callbacks {")
        .expect("struct")..];
    let body = &body[..body.find("} CRVideo_Callbacks;").unwrap()];
    assert!(body.contains("size_t size;"), "first member is size");
    // The picture type, field for field.
    assert!(h.contains(
        "typedef struct CRVideo_VideoImg {\n    int format;\n    int width;\n    int height;\n    int64_t frameTime;\n    size_t len;\n    uint8_t *data;\n} CRVideo_VideoImg;"
    ), "CRVideo_VideoImg");
    let mut last = 0;
    for cb in callbacks {
        let at = body
            .find(&format!("(*{cb})(void *userData"))
            .unwrap_or_else(|| panic!("{cb} missing"));
        assert!(at > last, "{cb} out of order");
        last = at;
    }
    // Each member is documented.
    assert_eq!(body.matches("/**").count(), callbacks.len() + 1);
}

fn compiler(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

fn compile_check(compiler: &str, std: &str, lang: &str, source: &Path, out: &Path) {
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include");
    let output = Command::new(compiler)
        .args([
            format!("-std={std}").as_str(),
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-x",
            lang,
            "-c",
        ])
        .arg(source)
        .arg("-I")
        .arg(include)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    assert!(
        output.status.success(),
        "{compiler} -std={std} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn header_compiles_cleanly_as_c99_and_cpp17() {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/c/header_check.c");
    let dir = TempDir::new("header");
    compile_check(
        &compiler("CC", "cc"),
        "c99",
        "c",
        &source,
        &dir.path.join("c.o"),
    );
    compile_check(
        &compiler("CXX", "c++"),
        "c++17",
        "c++",
        &source,
        &dir.path.join("cpp.o"),
    );
}

/// docs/API.md is generated from the header's doc comments. Regenerate with
/// `UPDATE_API_DOC=1 cargo test --test header`.
#[test]
fn api_doc_is_current() {
    let generated = api_doc(&committed_header());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/API.md");
    if std::env::var_os("UPDATE_API_DOC").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/API.md is stale: run `UPDATE_API_DOC=1 cargo test --test header` and commit it"
    );
}

/// One documented item of the header.
struct Item {
    doc: String,
    decl: String,
}

/// The doc comment text of a `/** ... */` block, without the stars.
fn doc_text(block: &[&str]) -> String {
    let mut lines: Vec<String> = block
        .iter()
        .map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("/**").unwrap_or(l);
            let l = l.strip_suffix("*/").unwrap_or(l).trim_end();
            let l = l.trim_start();
            let l = l
                .strip_prefix("* ")
                .or_else(|| l.strip_prefix('*'))
                .unwrap_or(l);
            l.to_string()
        })
        .collect();
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// What the header documents, in header order.
struct HeaderDoc {
    functions: Vec<Item>,
    callbacks_intro: String,
    callbacks: Vec<Item>,
    /// (name after CRVIDEOSDK_, value, description)
    codes: Vec<(String, String, String)>,
}

fn header_items(header: &str) -> HeaderDoc {
    let lines: Vec<&str> = header.lines().collect();
    let (mut functions, mut callbacks, mut codes) = (Vec::new(), Vec::new(), Vec::new());
    let mut callbacks_intro = String::new();
    let mut in_struct = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.starts_with("typedef struct CRVideo_Callbacks") {
            in_struct = true;
        } else if line.starts_with("} CRVideo_Callbacks;") {
            in_struct = false;
        }
        if !line.starts_with("/**") {
            i += 1;
            continue;
        }
        let start = i;
        while !lines[i].trim_end().ends_with("*/") {
            i += 1;
        }
        let doc = doc_text(&lines[start..=i]);
        i += 1;
        if lines
            .get(i)
            .is_some_and(|l| l.starts_with("typedef struct CRVideo_Callbacks"))
        {
            callbacks_intro = doc;
            continue;
        }
        // The declaration: up to the next ';' (or the #define line).
        let mut decl = String::new();
        while i < lines.len() {
            let l = lines[i].trim();
            if !decl.is_empty() {
                decl.push(' ');
            }
            decl.push_str(l);
            i += 1;
            if l.ends_with(';') || l.starts_with("#define") {
                break;
            }
        }
        if let Some(define) = decl.strip_prefix("#define CRVIDEOSDK_") {
            let mut parts = define.split_whitespace();
            let name = parts.next().unwrap_or_default().to_string();
            let value = parts.next().unwrap_or_default().to_string();
            if !name.starts_with("VERSION") {
                codes.push((name, value, doc));
            }
        } else if in_struct && decl.contains("(*") {
            callbacks.push(Item { doc, decl });
        } else if decl.contains("CRVideo_") && decl.contains('(') {
            functions.push(Item { doc, decl });
        }
    }
    HeaderDoc {
        functions,
        callbacks_intro,
        callbacks,
        codes,
    }
}

/// The name in a declaration: `CRVideo_X` of a function, `X` of a `(*X)` member.
fn item_name(decl: &str) -> String {
    let start = decl
        .find("(*")
        .map(|p| p + 2)
        .or_else(|| decl.find("CRVideo_"))
        .unwrap_or(0);
    decl[start..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn api_doc(header: &str) -> String {
    let HeaderDoc {
        functions,
        callbacks_intro,
        callbacks,
        codes,
    } = header_items(header);
    let mut out = String::new();
    out.push_str("# CRVideo SDK C API reference\n\n");
    out.push_str(
        "Generated from the doc comments of `include/CRVideoSDK.h` by `tests/header.rs`; do not \
         edit by hand. The rules every function follows (results, strings, threads, lifetime) \
         are in [GETTING_STARTED.md](GETTING_STARTED.md) and [API_GUIDE.md](API_GUIDE.md).\n\n",
    );
    out.push_str("## Functions\n\n");
    for f in &functions {
        out.push_str(&format!(
            "- [`{}`](#{})\n",
            item_name(&f.decl),
            item_name(&f.decl).to_lowercase()
        ));
    }
    for f in &functions {
        out.push_str(&format!(
            "\n### {}\n\n```c\n{}\n```\n\n{}\n",
            item_name(&f.decl),
            f.decl,
            f.doc
        ));
    }
    out.push_str("\n## Callbacks (members of `CRVideo_Callbacks`)\n\n");
    out.push_str(&callbacks_intro);
    out.push('\n');
    for c in &callbacks {
        out.push_str(&format!(
            "\n### {}\n\n```c\n{}\n```\n\n{}\n",
            item_name(&c.decl),
            c.decl,
            c.doc
        ));
    }
    out.push_str("\n## Error codes\n\n| code | name | meaning |\n|---:|---|---|\n");
    for (name, value, doc) in &codes {
        out.push_str(&format!("| {value} | `CRVIDEOSDK_{name}` | {doc} |\n"));
    }
    out
}
