//! Recording exports: the meeting composed into a local MP4 file (H.264 + Opus).

use std::ffi::{c_char, c_int};

use super::{arg_str, returns_code, returns_string};
use crate::client::netdisk::NetDiskCommand;
use crate::instance;

/// Starts recording the meeting this user is in to an MP4 file. `recordCfgJson`:
/// `{"recordPath":"/dir/name.mp4","audioType":3,"frameRate":15,"width":1280,"height":720,
/// "bitRate":1000000,"defaultQP":28,"recDataType":0,"isUploadOnRecording":0}`; only
/// `recordPath` (absolute, ending in `.mp4`) is needed, the rest have these defaults.
/// audioType: 0 none, 1 this user's microphone (as sent: while its mic is open), 2 the
/// others, 3 all. recDataType: 0 audio and video, 1 this user's audio only, 2 the others'
/// audio only, 3 video only. Ranges:
/// frameRate 1–30; width 64–3840 and height 64–2160, even; bitRate 50,000–20,000,000.
/// The picture is the layout of `CRVideo_SetRecordVideos` (black where nothing is drawn).
/// `isUploadOnRecording` 1 uploads the finished file to the net disk by itself, as
/// `CRVideo_UploadRecordFile` would, once it is complete (`RecordStateChanged(0)`); if the
/// upload cannot start (e.g. logged out), `UploadRecordFileErr(fileName, 1202)`.
///
/// While recording the file is `recordPath` + `.recording`; it gets its name, complete,
/// when `RecordStateChanged(0)` comes. The recording ends with `CRVideo_StopRecording`,
/// when this user leaves the meeting or logs out, at Uninit, or by itself with `RecordErr`.
///
/// Returns 0, then `RecordStateChanged` 1, 2, …; `CRVIDEOSDK_PARAM_ERR` (a bad
/// configuration), `CRVIDEOSDK_NOT_INMEETING`, `CRVIDEOSDK_RECORD_STATE_ERR` (a recording
/// runs), `CRVIDEOSDK_FILE_ALREADY_EXIST` (`recordPath` exists: it is never replaced),
/// `CRVIDEOSDK_FILE_WRITE_ERR` (the file cannot be created), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_StartRecording(recordCfgJson: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cfg = arg_str(recordCfgJson)?;
        instance.require_login()?;
        instance.recorder.start(cfg)
    })
}

/// What the recording draws where, from its next picture on (also before a recording, for
/// the next one): a JSON array of regions, drawn in order (a later one covers an earlier),
/// e.g. `[{"left":0,"top":0,"width":640,"height":360,"keepAspectRatio":1,
/// "param":{"type":0,"camid":"bob.1"}}]`. `param.type`: 0 a member's camera (`camid`
/// `userID.videoID`; this user's own cameras too), 1 a PNG or JPEG picture (`resourceid`:
/// its path, read now), 2 the shared screen, 3 the media being played, 4 the local date
/// and time as text. `keepAspectRatio` 1 (default) fits the picture inside the region,
/// centred; 0 stretches it. Positions and sizes are rounded down to even numbers.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (not such an array, an unknown type, a bad `camid`, a
/// picture that cannot be read), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetRecordVideos(layoutJson: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        instance.recorder.set_layout(arg_str(layoutJson)?)
    })
}

/// Stops the recording: `RecordStateChanged(4)`, then `RecordStateChanged(0)` once the file
/// is complete at its `recordPath`.
///
/// Returns 0, `CRVIDEOSDK_RECORD_STATE_ERR` (no recording runs), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_StopRecording() -> c_int {
    returns_code(|| instance::current()?.recorder.stop())
}

/// The files this instance recorded, oldest first: a JSON array of
/// `{"fileName":"/dir/name.mp4","size":123,"state":0,"uploadPercent":0}` (`state` 0 not
/// uploaded, 1 uploading, 2 uploaded). Free it with `CRVideo_FreeString`.
///
/// NULL only before `CRVideo_Init` (`CRVIDEOSDK_NOT_INIT` from `CRVideo_GetLastError`).
#[no_mangle]
pub extern "C" fn CRVideo_GetAllRecordFiles() -> *mut c_char {
    returns_string(|| Ok(instance::current()?.recorder.files_json()))
}

/// Uploads the record file `fileName` (a `fileName` of `CRVideo_GetAllRecordFiles`) to the
/// tenant's net disk, as a shared file named after it (listed once complete and verified,
/// like `CRVideo_UploadNetDiskFile`).
///
/// Returns 0, then `NotifyRecordFileStateChanged(fileName, 1)`,
/// `NotifyRecordFileUploadProgress(fileName, percent)` rising to 100, and
/// `NotifyRecordFileStateChanged(fileName, 2)`; or `UploadRecordFileErr(fileName, 1202)`
/// and state 0. Without callback: `CRVIDEOSDK_RECORD_FILE_NOT_EXIST` (not a file this
/// instance recorded, or gone), `CRVIDEOSDK_RECORD_STATE_ERR` (it is uploading),
/// `CRVIDEOSDK_PARAM_ERR` (NULL), `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_UploadRecordFile(fileName: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        instance.upload_record_file(arg_str(fileName)?)
    })
}

/// Cancels the upload of the record file `fileName`: `NotifyRecordFileStateChanged(fileName,
/// 0)` follows, and nothing of it stays on the net disk.
///
/// Returns 0, `CRVIDEOSDK_RECORD_FILE_NOT_EXIST` (not a record file of this instance),
/// `CRVIDEOSDK_RECORD_STATE_ERR` (not uploading), `CRVIDEOSDK_PARAM_ERR` (NULL),
/// `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_CancelUploadRecordFile(fileName: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let file_id = instance.recorder.upload_of(arg_str(fileName)?)?;
        instance.send(crate::client::Command::NetDisk(NetDiskCommand::Cancel {
            file_id,
        }))
    })
}
