//! Transparent-channel exports: commands, buffers, files, cancel.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;

use crvideo_proto::{TransferKind, MAX_CMD_BYTES};

use super::{arg_str, opt_str, returns_code, returns_id};
use crate::client::calls::new_id;
use crate::client::transfer::filling::FillingBuffer;
use crate::client::transfer::lent::LentBuffer;
use crate::client::transfer::{Outgoing, Source};
use crate::client::Command;
use crate::dispatch::Event;
use crate::instance::{self, Instance};
use crate::ErrorCode;

/// The bytes of a `(data, len)` argument pair. NULL is allowed only with `len == 0`.
///
/// # Safety
/// `data` is NULL or points to `len` readable bytes.
unsafe fn bytes_arg<'a>(data: *const u8, len: usize) -> Result<&'a [u8], ErrorCode> {
    match (data.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(ErrorCode::ParamErr),
        (false, len) => Ok(std::slice::from_raw_parts(data, len)),
    }
}

/// Offers a buffer transfer of `total` bytes read from `source` to the engine.
fn offer_buffer(
    instance: &Instance,
    id: &str,
    target: String,
    cookie: String,
    total: usize,
    source: Source,
) -> Result<(), ErrorCode> {
    let outgoing = Outgoing::new(None, cookie, total as u64, source);
    instance.send(Command::SendBulk {
        task_id: id.to_owned(),
        target,
        kind: TransferKind::Buffer,
        name: String::new(),
        outgoing: Box::new(outgoing),
    })
}

/// Sends `len` bytes (binary-safe) to `targetUserId`, in one piece: a command of at most
/// 51,200 bytes, for small messages such as JSON. It cannot be cancelled and reports no
/// progress.
///
/// Returns the task's ID (free it with `CRVideo_FreeString`), or NULL only when not
/// initialised. Exactly one `SendCmdRlst(taskID, sdkErr, cookie)` follows: 0 once the
/// target's SDK has received every byte (it gets `NotifyCmdData`), or
/// `CRVIDEOSDK_SENDCMD_LARGE`, `CRVIDEOSDK_SENDDATA_TARGETINVALID` (offline, unknown, other
/// tenant), `CRVIDEOSDK_PARAM_ERR` (NULL target, or NULL data with len > 0),
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOSERVER_RSP`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SendCmd(
    targetUserId: *const c_char,
    data: *const u8,
    len: usize,
    cookie: *const c_char,
) -> *mut c_char {
    returns_id(
        new_id,
        cookie,
        |instance, id, cookie| {
            let target = arg_str(targetUserId)?.to_owned();
            // No user has so long an ID, and a command frame could not name it.
            if target.len() > usize::from(u8::MAX) {
                return Err(ErrorCode::SendDataTargetInvalid);
            }
            let payload = bytes_arg(data, len)?;
            if payload.len() > MAX_CMD_BYTES {
                return Err(ErrorCode::SendCmdLarge);
            }
            instance.send(Command::SendCmd {
                task_id: id.to_owned(),
                target,
                payload: payload.to_vec(),
                cookie,
            })
        },
        |task_id, code, cookie| Event::SendCmdRlst {
            task_id,
            sdk_err: code,
            cookie,
        },
    )
}

/// Sends a buffer of `len` bytes (binary-safe; copied before the call returns) to
/// `targetUserId`, in chunks with flow control: at most the SDK's `maxBufferBytes` (Init
/// parameter, default 100 MiB). The transfer starts while the buffer is being copied; none
/// of the task's callbacks runs before this call has returned its ID.
///
/// Returns the task's ID (free it with `CRVideo_FreeString`), or NULL only when not
/// initialised. `SendProgress(taskID, sendedLen, totalLen, cookie)` reports the bytes the
/// receiver holds, rising to `totalLen`; then exactly one `SendBufferRlst(taskID, sdkErr,
/// cookie)`: 0 once the receiver's SDK holds every byte, verified (it gets
/// `NotifyBufferData`), or `CRVIDEOSDK_SENDBUFFER_LARGE`,
/// `CRVIDEOSDK_SENDDATA_TARGETINVALID` (also when the receiver goes offline meanwhile),
/// `CRVIDEOSDK_ERR_DATA` (the data arrived damaged), `CRVIDEOSDK_PARAM_ERR`,
/// `CRVIDEOSDK_NOT_LOGIN`, or the LineOff code when this session ends. A task cancelled with
/// `CRVideo_CancelSend` ends with `CancelSendRlst` instead.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SendBuffer(
    targetUserId: *const c_char,
    data: *const u8,
    len: usize,
    cookie: *const c_char,
) -> *mut c_char {
    returns_id(
        new_id,
        cookie,
        |instance, id, cookie| {
            let target = arg_str(targetUserId)?.to_owned();
            let payload = bytes_arg(data, len)?;
            if payload.len() as u64 > instance.params.max_buffer_bytes {
                return Err(ErrorCode::SendBufferLarge);
            }
            // Offered first, copied while the offer travels and the first chunks go (see
            // FillingBuffer); the task's callbacks wait until this call returns its ID.
            let copy = Arc::new(FillingBuffer::new(payload.len()));
            let _held = instance.dispatcher.hold(id);
            let source = Source::Buffer(copy.clone());
            offer_buffer(instance, id, target, cookie, payload.len(), source)?;
            copy.fill(payload);
            Ok(())
        },
        |task_id, code, cookie| Event::SendBufferRlst {
            task_id,
            sdk_err: code,
            cookie,
        },
    )
}

/// `CRVideo_SendBuffer` without the copy: the SDK reads the app's buffer in place while it
/// sends it, and gives it back by calling `release(releaseCtx, data, len)` once it no
/// longer reads it. Until then the app must neither free nor change those `len` bytes.
/// For large buffers: the call returns at once, and the sender holds no second copy (see
/// docs/BENCHMARKS.md).
///
/// `release` is called exactly once for every call with a non-NULL `release`, whatever
/// happens, by the thread that lets go of the buffer last: once the SDK has read every
/// byte (they may still be on their way) or the transfer ended first (failed, cancelled,
/// the session ended), by an SDK thread, before or after `SendBufferRlst`; when the call
/// fails at once (returning NULL too), before it returns, by the calling thread; at the
/// latest inside `CRVideo_Uninit`. It must not block (free the memory, signal a thread). `releaseCtx` is passed back untouched. A NULL `release`
/// is `CRVIDEOSDK_PARAM_ERR`. Everything else is as for `CRVideo_SendBuffer`:
/// the task's ID (NULL only when not initialised), `SendProgress`, then exactly one
/// `SendBufferRlst` (or `CancelSendRlst`), the receiver's `NotifyBufferData`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SendBufferNoCopy(
    targetUserId: *const c_char,
    data: *const u8,
    len: usize,
    release: Option<unsafe extern "C" fn(releaseCtx: *mut c_void, data: *const u8, len: usize)>,
    releaseCtx: *mut c_void,
    cookie: *const c_char,
) -> *mut c_char {
    // Taken first: from here on, dropping it (any failure) gives the buffer back.
    let lent = LentBuffer::new(data, len, release, releaseCtx);
    returns_id(
        new_id,
        cookie,
        |instance, id, cookie| {
            if !lent.has_release() || lent.bytes().is_none() {
                return Err(ErrorCode::ParamErr);
            }
            let target = arg_str(targetUserId)?.to_owned();
            if lent.len() as u64 > instance.params.max_buffer_bytes {
                return Err(ErrorCode::SendBufferLarge);
            }
            let _held = instance.dispatcher.hold(id);
            let total = lent.len();
            offer_buffer(instance, id, target, cookie, total, Source::Lent(lent))
        },
        |task_id, code, cookie| Event::SendBufferRlst {
            task_id,
            sdk_err: code,
            cookie,
        },
    )
}

/// Sends the file `fileName` to `targetUserId`, streamed from disk (any size), with flow
/// control. The receiver gets it as a new file in its `tmpDir` under the file's base name.
///
/// Returns the task's ID (free it with `CRVideo_FreeString`), or NULL only when not
/// initialised. `SendProgress` reports the bytes the receiver holds, rising to the file's
/// size; then exactly one `SendFileRlst(taskID, fileName, sdkErr, cookie)`: 0 once the
/// receiver's SDK holds the whole file, verified (it gets `NotifyFileData`), or
/// `CRVIDEOSDK_SENDFILE_FILEINERROR` (cannot be opened or read to its end), the errors of
/// `CRVideo_SendBuffer`, or `CRVIDEOSDK_FILE_WRITE_ERR` (the receiver cannot store it).
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SendFile(
    targetUserId: *const c_char,
    fileName: *const c_char,
    cookie: *const c_char,
) -> *mut c_char {
    returns_id(
        new_id,
        cookie,
        |instance, id, cookie| {
            let target = arg_str(targetUserId)?.to_owned();
            let path = arg_str(fileName)?.to_owned();
            let (file, total) = open_for_sending(&path).ok_or(ErrorCode::SendFileFileInError)?;
            let name = std::path::Path::new(&path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let outgoing = Outgoing::new(Some(path), cookie, total, Source::File(Arc::new(file)));
            instance.send(Command::SendBulk {
                task_id: id.to_owned(),
                target,
                kind: TransferKind::File,
                name,
                outgoing: Box::new(outgoing),
            })
        },
        |task_id, code, cookie| Event::SendFileRlst {
            task_id,
            file_name: opt_str(fileName).unwrap_or_default().to_owned(),
            sdk_err: code,
            cookie,
        },
    )
}

/// A readable regular file and its size.
fn open_for_sending(path: &str) -> Option<(std::fs::File, u64)> {
    let file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    meta.is_file().then_some((file, meta.len()))
}

/// Cancels a `CRVideo_SendBuffer` / `CRVideo_SendFile` task that has not finished.
///
/// Returns 0, then `CancelSendRlst(taskID, sdkErr, cookie)` follows with the task's cookie:
/// 0 (the task ends here, with no SendBufferRlst / SendFileRlst; the receiver gets
/// `NotifyCancelSend` and keeps nothing), or `CRVIDEOSDK_TRANSID_INVALID` (unknown, a
/// SendCmd task, or already finished; then with an empty cookie when the task is unknown).
/// Without callback: `CRVIDEOSDK_PARAM_ERR`, `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_CancelSend(taskID: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let task_id = arg_str(taskID)?.to_owned();
        instance.require_login()?;
        instance.send(Command::CancelSend { task_id })
    })
}
