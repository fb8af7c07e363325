//! Net-disk exports: the tenant's shared files on the server, with quota, uploads and
//! downloads in the background.

use std::ffi::{c_char, c_int};
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crvideo_proto::netdisk::{make_file_id, parse_file_id, valid_file_name};

use super::{arg_str, returns_code, returns_string};
use crate::client::calls::new_id;
use crate::client::netdisk::{requests, NetDiskCommand};
use crate::client::Command;
use crate::instance::Instance;
use crate::{instance, ErrorCode};

/// Asks for the tenant's quota and the bytes its files use.
///
/// Returns 0, then `GetNetDiskSummaryRslt(diskLimit, diskUsed)` follows (both 0 when the
/// request failed: not logged in any more, no answer). Without callback:
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_GetNetDiskSummary() -> c_int {
    returns_code(|| instance::current()?.request(requests::summary()))
}

/// Asks for the tenant's listed files (type 0; resources such as board backgrounds are not
/// listed).
///
/// Returns 0, then `GetNetDiskFileListRslt(fileListJson)` follows: a JSON array of
/// NetFileObj (`{"fileID":..,"ownerID":"alice","ownerName":"Alice","name":"plan.pdf",
/// "orgFileName":"plan.pdf","md5":"<hex>","ctime":1732500000,"size":123,"orgSize":123,
/// "status":0}`), oldest first; `[]` when the request failed. Without callback:
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_GetNetDiskFileList() -> c_int {
    returns_code(|| instance::current()?.request(requests::list()))
}

/// Makes a new file ID for `newFileName` (the file's name on the net disk: 1–200 bytes of
/// UTF-8, no `/`, `\` or control characters): `fileType` 0 a shared file (listed), 1 a
/// resource such as a board background (not listed). The ID names the file from its upload
/// on; nothing is sent.
///
/// Returns the ID (free it with `CRVideo_FreeString`), or NULL and then
/// `CRVideo_GetLastError()` is `CRVIDEOSDK_PARAM_ERR` (another type, a bad name) or
/// `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_MakeNetDiskFileID(
    fileType: c_int,
    newFileName: *const c_char,
) -> *mut c_char {
    returns_string(|| {
        instance::current()?;
        let name = arg_str(newFileName)?;
        let file_type = u8::try_from(fileType).map_err(|_| ErrorCode::ParamErr)?;
        if file_type > 1 || !valid_file_name(name) {
            return Err(ErrorCode::ParamErr);
        }
        Ok(make_file_id(file_type, &new_id(), name))
    })
}

/// Uploads the local file `localPath` as `fileID` (from `CRVideo_MakeNetDiskFileID`). The
/// file is listed only once all of it arrived and its MD5 matched; until then it is not
/// there for anyone. A dropped connection that the SDK resumes (`Reconnecting`,
/// `Reconnected`) goes on from where the server is.
///
/// Returns 0, then `NotifyNetDiskTransforProgress(fileID, percent, isSucceed)` follows with
/// percent rising (isSucceed 1), ending with `(fileID, 100, 1)` once it is listed, or with
/// one call with isSucceed 0: cancelled, refused (the ID is taken, or another session
/// uploads it), the file could not be read, the session ended. An upload that does not fit
/// in the tenant's quota (counting the uploads in progress) gets `NotifyNetDiskIsFull(
/// fileListJson)` first. Without callback: `CRVIDEOSDK_NETDISK_FILEID_INVALID` (malformed
/// ID), `CRVIDEOSDK_FILE_NOT_EXIST` (no such file), `CRVIDEOSDK_FILE_READ_ERR` (cannot be
/// read, or not a regular file), `CRVIDEOSDK_PARAM_ERR` (NULL, or a transfer of this ID
/// runs already), `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_UploadNetDiskFile(
    fileID: *const c_char,
    localPath: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let file_id = file_id_arg(fileID)?;
        let path = PathBuf::from(arg_str(localPath)?);
        instance.require_login()?;
        let file = File::open(&path).map_err(|e| match e.kind() {
            ErrorKind::NotFound => ErrorCode::FileNotExist,
            _ => ErrorCode::FileReadErr,
        })?;
        let meta = file.metadata().map_err(|_| ErrorCode::FileReadErr)?;
        if !meta.is_file() {
            return Err(ErrorCode::FileReadErr);
        }
        let org_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let command = NetDiskCommand::Upload {
            file_id: file_id.clone(),
            file,
            size: meta.len(),
            org_name,
            record: None,
        };
        instance.start_netdisk(file_id, command)
    })
}

/// Downloads `fileID` to `localPath`, which must not exist: the bytes go to a hidden file
/// beside it (`.<name>.crvdisk`), which becomes `localPath` only once complete and its MD5
/// matched; nothing ever replaces an existing file. A dropped connection that the SDK
/// resumes goes on from the bytes already written.
///
/// Returns 0, then `NotifyNetDiskTransforProgress(fileID, percent, isSucceed)` follows as
/// for an upload: `(fileID, 100, 1)` once `localPath` is there, or one call with isSucceed 0
/// (no such file of the tenant, cancelled, damaged, a file appeared at `localPath`
/// meanwhile, the session ended), and then nothing of it is left. Without callback:
/// `CRVIDEOSDK_FILE_ALREADY_EXIST` (`localPath` exists, or another download to it runs),
/// `CRVIDEOSDK_FILE_WRITE_ERR` (its directory cannot be written),
/// `CRVIDEOSDK_NETDISK_FILEID_INVALID` (malformed ID), `CRVIDEOSDK_PARAM_ERR` (NULL, a path
/// without a file name, or a transfer of this ID runs already), `CRVIDEOSDK_NOT_LOGIN`,
/// `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_DownloadNetDiskFile(
    fileID: *const c_char,
    localPath: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let file_id = file_id_arg(fileID)?;
        let target = PathBuf::from(arg_str(localPath)?);
        instance.require_login()?;
        if target.symlink_metadata().is_ok() {
            return Err(ErrorCode::FileAlreadyExist);
        }
        let partial = partial_path(&target).ok_or(ErrorCode::ParamErr)?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(|e| match e.kind() {
                ErrorKind::AlreadyExists => ErrorCode::FileAlreadyExist,
                _ => ErrorCode::FileWriteErr,
            })?;
        let command = NetDiskCommand::Download {
            file_id: file_id.clone(),
            file,
            partial: partial.clone(),
            target,
        };
        instance.start_netdisk(file_id, command).inspect_err(|_| {
            let _ = std::fs::remove_file(&partial);
        })
    })
}

/// `pause` non-zero pauses the upload or download of `fileID`, 0 lets it go on from where it
/// is (no callback of its own; progress resumes).
///
/// Returns 0, `CRVIDEOSDK_NETDISK_FILEID_INVALID` (no transfer of this ID),
/// `CRVIDEOSDK_PARAM_ERR` (NULL), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetNetDiskTransportPause(
    fileID: *const c_char,
    pause: c_int,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let file_id = running(&instance, fileID)?;
        instance.send(Command::NetDisk(NetDiskCommand::Pause {
            file_id,
            pause: pause != 0,
        }))
    })
}

/// Cancels the upload or download of `fileID`: it ends with
/// `NotifyNetDiskTransforProgress(fileID, percent, 0)`, and nothing of it is left (an
/// upload's bytes on the server, a download's hidden file; an upload whose last byte had
/// left is deleted from the net disk if the server listed it meanwhile).
///
/// Returns 0, `CRVIDEOSDK_NETDISK_FILEID_INVALID` (no transfer of this ID),
/// `CRVIDEOSDK_PARAM_ERR` (NULL), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_CancelNetDiskFile(fileID: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let file_id = running(&instance, fileID)?;
        instance.send(Command::NetDisk(NetDiskCommand::Cancel { file_id }))
    })
}

/// Deletes `fileID` from the net disk (any user of the tenant may).
///
/// Returns 0, then `NotifyNetDiskFileDeleteRslt(fileID, isSucceed)` follows: 1 deleted, 0
/// not (no such file of the tenant, no answer). Without callback:
/// `CRVIDEOSDK_NETDISK_FILEID_INVALID` (malformed ID), `CRVIDEOSDK_PARAM_ERR` (NULL),
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_DeleteNetDiskFile(fileID: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let file_id = file_id_arg(fileID)?;
        instance.request(requests::delete(file_id))
    })
}

unsafe fn file_id_arg(p: *const c_char) -> Result<String, ErrorCode> {
    let id = arg_str(p)?;
    match parse_file_id(id) {
        Some(_) => Ok(id.to_owned()),
        None => Err(ErrorCode::NetDiskFileIdInvalid),
    }
}

/// The file ID of a running transfer.
unsafe fn running(instance: &Instance, p: *const c_char) -> Result<String, ErrorCode> {
    let id = arg_str(p)?;
    match instance.netdisk.lock().contains(id) {
        true => Ok(id.to_owned()),
        false => Err(ErrorCode::NetDiskFileIdInvalid),
    }
}

/// The hidden file a download to `target` is written to: `.<name>.crvdisk` beside it.
fn partial_path(target: &Path) -> Option<PathBuf> {
    target.file_name()?;
    Some(crate::files::hidden_beside(target, "crvdisk"))
}
