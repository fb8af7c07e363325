//! Video exports: custom cameras, their frames, the default camera, what this user watches,
//! the pictures of a video, and the shared screen's pixels.

use std::ffi::{c_char, c_int};

use super::{arg_str, returns_code, returns_string};
use crate::video::camera::CameraSpec;
use crate::video::codec::EncodeSettings;
use crate::video::screen::ScreenCfg;
use crate::{instance, ErrorCode};

/// A picture handed to the app: `len` bytes at `data` in `format` (`CRVIDEOSDK_VFMT_*`),
/// `width`×`height`, `frameTime` the sender's timestamp (ms). Allocated by the SDK; free it
/// with `CRVideo_FreeVideoImg`.
#[repr(C)]
pub struct CRVideo_VideoImg {
    pub format: c_int,
    pub width: c_int,
    pub height: c_int,
    pub frameTime: i64,
    pub len: usize,
    pub data: *mut u8,
}

/// Frames per second and kilobits per second of a camera when `extParamsJson` does not say.
const DEFAULT_FPS: f64 = 15.0;
const DEFAULT_KBPS: u64 = 1000;

/// Creates a custom camera of this user that the app feeds with
/// `CRVideo_InputCustomVideoDat`: `camName` (1–255 bytes), `pixFmt` one of
/// `CRVIDEOSDK_VFMT_*`, `width`×`height` even, 16×16 to 3840×2160; `extParamsJson` NULL or
/// `{"fps":15,"maxKbps":1000}` (the defaults; fps 1–60, maxKbps 50–20000). Its ID (1–255) is
/// written to `*outVideoID`. At most 5 cameras per user. Works before login and outside
/// meetings (the local preview: `CRVideo_GetVideoImg` with this user's ID or ""); cameras
/// end at `CRVideo_DestroyCustomVideoDev`, Logout or Uninit.
///
/// Returns 0, then `VideoDevChanged(userID)` (to this user, and to the other members when
/// in a meeting) and, for the user's first camera, `DefVideoChanged(userID, videoID)`.
/// `CRVIDEOSDK_PARAM_ERR`: NULL name or `outVideoID`, unknown format, bad size or params,
/// a sixth camera. `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_CreateCustomVideoDev(
    camName: *const c_char,
    pixFmt: c_int,
    width: c_int,
    height: c_int,
    extParamsJson: *const c_char,
    outVideoID: *mut c_int,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let name = arg_str(camName)?.to_owned();
        if outVideoID.is_null() {
            return Err(ErrorCode::ParamErr);
        }
        let settings = encode_settings(super::opt_str(extParamsJson)?)?;
        let side = |v: c_int| usize::try_from(v).map_err(|_| ErrorCode::ParamErr);
        let spec = CameraSpec {
            name,
            format: pixFmt,
            width: side(width)?,
            height: side(height)?,
            settings,
        };
        let id = instance.video.create(spec)?;
        *outVideoID = id as c_int;
        Ok(())
    })
}

/// `{"fps":…,"maxKbps":…}`, each optional.
fn encode_settings(json: &str) -> Result<EncodeSettings, ErrorCode> {
    let params: serde_json::Value = if json.trim().is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str(json).map_err(|_| ErrorCode::ParamErr)?
    };
    let object = params.as_object().ok_or(ErrorCode::ParamErr)?;
    let number =
        |key: &str, default: f64, range: std::ops::RangeInclusive<f64>| match object.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|v| range.contains(v))
                .ok_or(ErrorCode::ParamErr),
        };
    Ok(EncodeSettings {
        fps: number("fps", DEFAULT_FPS, 1.0..=60.0)? as f32,
        kbps: number("maxKbps", DEFAULT_KBPS as f64, 50.0..=20000.0)? as u32,
        screen: false,
    })
}

/// Ends this user's camera `videoID`: `VideoDevChanged` as for creation, and a new
/// `DefVideoChanged` when it was the default (the next camera, or 0).
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (no such camera), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_DestroyCustomVideoDev(videoID: c_int) -> c_int {
    returns_code(|| instance::current()?.video.destroy(videoID))
}

/// One picture of camera `videoID`: exactly `width*height*3/2` (I420) or `width*height*4`
/// bytes in the camera's format and size; `timeStampMs` is what receivers get as
/// `frmTime`. The bytes are copied before it returns. Pictures leave the SDK (encoded) only
/// while this user is in a meeting with its video open (`CRVideo_OpenVideo`); a picture
/// given before the previous one was encoded replaces it.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (no such camera, NULL data, wrong length),
/// `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_InputCustomVideoDat(
    videoID: c_int,
    data: *const u8,
    len: usize,
    timeStampMs: i64,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        if data.is_null() {
            return Err(ErrorCode::ParamErr);
        }
        let data = std::slice::from_raw_parts(data, len);
        instance.video.input(videoID, data, timeStampMs)
    })
}

/// Makes camera `videoID` this user's default: `DefVideoChanged(userID, videoID)` to this
/// user and, in a meeting, to the others (nothing when it already is).
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (no such camera), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_SetDefaultVideo(videoID: c_int) -> c_int {
    returns_code(|| instance::current()?.video.set_default(videoID))
}

/// The default camera of `userID` (this user's own with its ID or "", or a member of the
/// meeting): its ID, or 0 when it has none, is not known here, or the SDK is not
/// initialised.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_GetDefaultVideo(userID: *const c_char) -> c_int {
    let Ok(instance) = instance::current() else {
        return 0;
    };
    match arg_str(userID) {
        Ok(user_id) => instance.video.default_of(user_id),
        Err(_) => 0,
    }
}

/// The cameras of `userID` (this user's own with its ID or "", or a member of the
/// meeting): `[{"userID":"bob","videoID":1,"videoName":"cam"}]`, `[]` for a user without
/// cameras or not known here. NULL with `CRVideo_GetLastError()` `CRVIDEOSDK_PARAM_ERR`
/// (NULL userID) or `CRVIDEOSDK_NOT_INIT`. Free with `CRVideo_FreeString`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_GetAllVideoInfo(userID: *const c_char) -> *mut c_char {
    returns_string(|| {
        let instance = instance::current()?;
        Ok(instance.video.info_json(arg_str(userID)?))
    })
}

/// Which videos this user receives in meetings: a JSON array of `"userID.videoID"`
/// (`["bob.1","carol.2"]`), `[]` for none, NULL for every open one (the default). Kept
/// across meetings until changed; a video newly watched starts at a key frame.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (not an array of such strings), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetWatchVideos(videosJson: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let videos = if videosJson.is_null() {
            None
        } else {
            let list: Vec<String> =
                serde_json::from_str(arg_str(videosJson)?).map_err(|_| ErrorCode::ParamErr)?;
            let valid = |v: &String| {
                v.rsplit_once('.')
                    .is_some_and(|(user, id)| !user.is_empty() && id.parse::<u8>().is_ok())
            };
            if !list.iter().all(valid) {
                return Err(ErrorCode::ParamErr);
            }
            Some(list)
        };
        instance.video.set_watch(videos);
        Ok(())
    })
}

/// The newest picture of `userID`'s camera `videoID` (another member's, decoded; or this
/// user's own with its ID or "": the local preview) in `format` (`CRVIDEOSDK_VFMT_*`),
/// scaled down (never up, the aspect kept, sizes even) to fit `maxWidth`×`maxHeight` when
/// those are > 0. `*out` receives it; free it with `CRVideo_FreeVideoImg`. Taking a
/// picture re-arms `NotifyVideoData` for that video.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (NULL userID or out, unknown format, a camera not
/// known here), `CRVIDEOSDK_ERR_DATA` (no picture yet), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_GetVideoImg(
    userID: *const c_char,
    videoID: c_int,
    format: c_int,
    maxWidth: c_int,
    maxHeight: c_int,
    out: *mut *mut CRVideo_VideoImg,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let user_id = arg_str(userID)?;
        hand_over(out, || {
            (instance.video).image(user_id, videoID, format, maxWidth, maxHeight)
        })
    })
}

/// Frees a picture from `CRVideo_GetVideoImg` (NULL is a no-op).
#[no_mangle]
pub unsafe extern "C" fn CRVideo_FreeVideoImg(img: *mut CRVideo_VideoImg) {
    if img.is_null() {
        return;
    }
    let img = Box::from_raw(img);
    if !img.data.is_null() {
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
            img.data, img.len,
        )));
    }
}

/// The screen share's settings: `{"maxFPS":8,"maxKbps":800}` (the defaults; maxFPS 1–30,
/// maxKbps 50–20000; a key left out keeps its value). The screen is encoded for screen
/// content: sharp text and flat areas rather than motion.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (NULL, not such an object, a value out of range),
/// `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetScreenShareCfg(cfgJson: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cfg: serde_json::Value =
            serde_json::from_str(arg_str(cfgJson)?).map_err(|_| ErrorCode::ParamErr)?;
        let object = cfg.as_object().ok_or(ErrorCode::ParamErr)?;
        let mut settings = ScreenCfg::default();
        for (key, slot, range) in [
            ("maxFPS", &mut settings.max_fps, 1..=30),
            ("maxKbps", &mut settings.max_kbps, 50..=20000),
        ] {
            if let Some(v) = object.get(key) {
                let v = v
                    .as_u64()
                    .filter(|v| range.contains(v))
                    .ok_or(ErrorCode::ParamErr)?;
                *slot = v as u32;
            }
        }
        instance.video.set_screen_cfg(settings)
    })
}

/// With `enable` non-zero, while this user shares its screen the SDK asks the app for each
/// image with `NotifyCatchScreen()` at the share's `maxFPS` (not again before the app gave
/// one with `CRVideo_SetCustomizeScreenImg`); with 0 it stops asking (images the app
/// pushes on its own are still shared). The SDK captures nothing itself.
///
/// Returns 0 or `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_SetCustomizeCatchScreen(enable: c_int) -> c_int {
    returns_code(|| instance::current()?.video.set_catch_screen(enable != 0))
}

/// The current screen image: `width`×`height` (even, 16×16 to 3840×2160) in `format`
/// (`CRVIDEOSDK_VFMT_*`), `len` bytes, copied before it returns. While this user is the
/// meeting's sharer (`CRVideo_StartScreenShare`), the area that changed since the previous
/// image is encoded and sent (an unchanged image sends nothing); otherwise the image is
/// kept and sent when the share starts.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (unknown format, bad size, NULL data, a length that
/// does not match), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetCustomizeScreenImg(
    format: c_int,
    width: c_int,
    height: c_int,
    data: *const u8,
    len: usize,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        if data.is_null() {
            return Err(ErrorCode::ParamErr);
        }
        let side = |v: c_int| usize::try_from(v).map_err(|_| ErrorCode::ParamErr);
        let data = std::slice::from_raw_parts(data, len);
        instance
            .video
            .set_screen_image(format, side(width)?, side(height)?, data)
    })
}

/// The newest picture of the shared screen (decoded; this user's own image when it is the
/// sharer) in `format`, scaled down to fit `maxWidth`×`maxHeight` when those are > 0, into
/// `*out` (free it with `CRVideo_FreeVideoImg`); `frameTime` is the sharer's clock (ms).
/// Taking it re-arms `NotifyScreenShareData`.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (unknown format, NULL out), `CRVIDEOSDK_ERR_DATA` (no
/// share, or no picture yet), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_GetShareScreenDecodeImg(
    format: c_int,
    maxWidth: c_int,
    maxHeight: c_int,
    out: *mut *mut CRVideo_VideoImg,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        hand_over(out, || {
            instance.video.screen_image(format, maxWidth, maxHeight)
        })
    })
}

/// Puts the picture `take` gives into `*out` as the app gets it (freed by
/// `CRVideo_FreeVideoImg`); `*out` is NULL when there is none. `PARAM_ERR` for a NULL `out`.
pub(super) unsafe fn hand_over(
    out: *mut *mut CRVideo_VideoImg,
    take: impl FnOnce() -> Result<crate::video::Image, ErrorCode>,
) -> Result<(), ErrorCode> {
    if out.is_null() {
        return Err(ErrorCode::ParamErr);
    }
    *out = std::ptr::null_mut();
    let image = take()?;
    let data = Box::into_raw(image.data.into_boxed_slice());
    *out = Box::into_raw(Box::new(CRVideo_VideoImg {
        format: image.format,
        width: image.width as c_int,
        height: image.height as c_int,
        frameTime: image.time_ms,
        len: data.len(),
        data: data as *mut u8,
    }));
    Ok(())
}
