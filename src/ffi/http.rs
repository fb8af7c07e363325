//! HTTP file transfer exports (API.md section 11): downloads and uploads over http:// or
//! https:// in the background, reported through `FileStateChanged`, `FileHttpRspHeader`,
//! `FileHttpRspContent`, `FileProgress` and `FileFinished`. They need no login.

use std::ffi::{c_char, c_int};

use super::{arg_str, returns_code, returns_string};
use crate::http::spec::TransferSpec;
use crate::{instance, ErrorCode};

/// Starts downloading or uploading a file over HTTP(S). `fileInfoJson`:
/// `{"bUploadType":0,"filePathName":"/abs/path","httpUrl":"https://host/x",
/// "extParams":{"Name":"value"},"transforCfg":{"extParamsTransfType":0}}`: `bUploadType` 0
/// downloads `httpUrl` (GET) to `filePathName`, 1 uploads `filePathName` to `httpUrl`: as a
/// PUT body with `extParams` as headers, or with `extParamsTransfType` 1 as a
/// multipart/form-data POST with `extParams` as text fields and the file as the part
/// `file`. A download also sends `extParams` as headers. `filePathName` (absolute) is the
/// transfer's name in every callback and the other `CRVideo_*Transfer*` functions.
///
/// At most 3 transfers run at once; the others wait in order (`FileStateChanged(.., 1)`).
/// A running one reports `FileStateChanged(.., 2)`, `FileProgress` (at most 10 a second,
/// and a final one), `FileHttpRspHeader` (the final response's head, after at most 5
/// redirects), for an upload `FileHttpRspContent`, then `FileStateChanged(.., 3)` and
/// `FileFinished(fileName, rslt)`: 0 success, 1 internal error, 2 an `extParams` entry
/// HTTP cannot carry, 3 unreachable (connection refused, unknown host, certificate not
/// trusted, connection broken), 4 no byte moved for the stall timeout (Init `timeoutMs`,
/// or the extension `httpTimeoutMs`), 5 file operation failed (upload source unreadable,
/// partial file not writable, download target exists: it is never overwritten), 6
/// `httpUrl` not http:// or https://, 7 the same `filePathName` is queued or running,
/// 1000 + the status for an HTTP status >= 400 (or a redirect not followed: the sixth,
/// or one that would need an upload's body sent again). 2, 6 and 7 come as `FileFinished` alone: nothing
/// started and the record (if any) is unchanged.
///
/// A download grows in the hidden `.<name>.crvpart` beside `filePathName` and is renamed
/// to it once complete; after a cancel or a failure, starting it again resumes with
/// `Range: bytes=N-` (N the partial file's size; a server answering 200 sends it all
/// again).
///
/// Returns 0 (the callbacks follow), `CRVIDEOSDK_PARAM_ERR` (NULL or malformed JSON, a
/// missing or mistyped field, a relative `filePathName`), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_StartTransferFile(fileInfoJson: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let spec = TransferSpec::parse(arg_str(fileInfoJson)?)?;
        instance.http.start(spec)
    })
}

/// Stops the transfer of `fileName` (its `filePathName`), queued or running:
/// `FileStateChanged(fileName, 0)` and no `FileFinished`. The record stays, and so does a
/// download's partial file: `CRVideo_StartTransferFile` with the same `filePathName`
/// resumes it. Returns once the transfer let go of its files (the partial file is
/// complete up to `finished` of `CRVideo_GetTransferInfo`). A transfer not queued or
/// running: nothing to do.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (NULL), `CRVIDEOSDK_TRANSID_INVALID` (no transfer of
/// that name), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_CancelFileTransfer(fileName: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        instance.http.cancel(arg_str(fileName)?)
    })
}

/// Forgets the transfer of `fileName`, stopping it first (without callbacks) if it is
/// queued or running. `removeLocFile` non-zero also deletes its local file (the
/// downloaded file, or the uploaded source) and a download's partial file.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (NULL), `CRVIDEOSDK_TRANSID_INVALID` (no transfer of
/// that name), `CRVIDEOSDK_FILE_WRITE_ERR` (a file could not be deleted; the record is
/// gone all the same), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_RmTransferInfo(
    fileName: *const c_char,
    removeLocFile: c_int,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        instance.http.remove(arg_str(fileName)?, removeLocFile != 0)
    })
}

/// Every transfer the SDK remembers, in the order they were first started: a JSON array
/// of `{"fileName":"/abs/path","state":2,"finished":1024,"total":4096,"httpUrl":"..."}`
/// (`state` as in `FileStateChanged`; `total` 0 while unknown). Free it with
/// `CRVideo_FreeString`.
///
/// NULL only before `CRVideo_Init` (`CRVideo_GetLastError()`: `CRVIDEOSDK_NOT_INIT`).
#[no_mangle]
pub extern "C" fn CRVideo_GetAllTransferInfos() -> *mut c_char {
    returns_string(|| Ok(instance::current()?.http.infos()))
}

/// The transfer of `fileName` as a JSON object (the fields of
/// `CRVideo_GetAllTransferInfos`). Free it with `CRVideo_FreeString`.
///
/// NULL, with `CRVideo_GetLastError()` saying why: `CRVIDEOSDK_TRANSID_INVALID` (no
/// transfer of that name), `CRVIDEOSDK_PARAM_ERR` (NULL), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_GetTransferInfo(fileName: *const c_char) -> *mut c_char {
    returns_string(|| {
        let instance = instance::current()?;
        instance.http.info(arg_str(fileName)?)
    })
}

/// Limits all uploads together to `bytesPerSec` bytes a second (0: no limit, the
/// default); applies at once, to running transfers too.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (negative), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_SetFileUploadRate(bytesPerSec: i64) -> c_int {
    returns_code(|| set_rate(true, bytesPerSec))
}

/// Limits all downloads together to `bytesPerSec` bytes a second (0: no limit, the
/// default); applies at once, to running transfers too.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (negative), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_SetFileDownloadRate(bytesPerSec: i64) -> c_int {
    returns_code(|| set_rate(false, bytesPerSec))
}

fn set_rate(upload: bool, bytes_per_sec: i64) -> Result<(), ErrorCode> {
    let instance = instance::current()?;
    let rate = u64::try_from(bytes_per_sec).map_err(|_| ErrorCode::ParamErr)?;
    instance.http.set_rate(upload, rate);
    Ok(())
}
