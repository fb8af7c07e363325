//! Audio exports: the app's microphone PCM, the speaker mix it pulls or is given, PCM taps
//! and WAV files, and speaking levels.
//!
//! PCM is always 16 kHz, 16-bit signed little-endian, mono: 320 bytes are 10 ms.

use std::ffi::{c_char, c_int};
use std::path::PathBuf;

use super::{arg_str, opt_str, returns_code};
use crate::audio::TapSpec;
use crate::{instance, ErrorCode};

/// `paramsJson` of the audio set-up calls: NULL, "" or a JSON object (no keys are used
/// yet), else `PARAM_ERR`.
unsafe fn params_object(json: *const c_char) -> Result<serde_json::Value, ErrorCode> {
    let text = opt_str(json)?;
    if text.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(ErrorCode::ParamErr),
    }
}

/// `enable` non-zero: the app gives this user's microphone as PCM with
/// `CRVideo_PushCustomAudioDat` (the SDK captures nothing itself). 0 stops taking it (a
/// partial packet is dropped). `paramsJson` NULL, "" or `{}`. Works at any time after Init.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (params not a JSON object), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetCustomAudioCapture(
    enable: c_int,
    paramsJson: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        params_object(paramsJson)?;
        instance.audio.set_capture(enable != 0)
    })
}

/// The next `len` bytes of this user's microphone: 16 kHz, 16-bit signed little-endian,
/// mono, a whole number of 10 ms (a multiple of 320 bytes); copied before it returns. Push
/// at real time. While this user is in a meeting with its mic open the SDK sends it, as
/// Opus packets of 20 ms, to the other members; else it only goes to the microphone side's
/// tap (`CRVideo_StartGetAudioPCM(0, …)`) and nobody hears it. "Open" is the SDK's copy of
/// the room: after `CRVideo_OpenMic` returns, from this user's
/// `AudioStatusChanged(me, …, 3)` on.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (NULL `pcm`, `len` 0 or not a multiple of 320, capture
/// not enabled with `CRVideo_SetCustomAudioCapture(1, …)`), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_PushCustomAudioDat(pcm: *const u8, len: usize) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        if pcm.is_null() {
            return Err(ErrorCode::ParamErr);
        }
        instance.audio.push(std::slice::from_raw_parts(pcm, len))
    })
}

/// Starts giving the app the PCM of `aSide`: 0 this user's microphone (what it pushes), 1
/// the speaker (the mix of the other members of the meeting, at real time, silence when
/// nobody speaks). `getType` 0: `NotifyAudioPCMDat(aSide, pcm, len)` with `jsonParam`
/// `{"EachSize":n}` bytes each, n 320 to 32000 and a multiple of 320 (NULL or "": 320).
/// `getType` 1: written to the WAV file `jsonParam` `{"FileName":"x.wav"}` (16 kHz 16-bit
/// mono; created or emptied now; its header is kept up to date every second, and it is
/// complete once `CRVideo_StopGetAudioPCM`, Logout or Uninit finished it; a full disk ends
/// it where it was, still valid). Replaces what the side had (finishing its file); Logout
/// ends both sides.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (unknown `aSide` or `getType`, bad JSON, `EachSize`
/// out of range or not a multiple of 320, no `FileName`), `CRVIDEOSDK_FILE_WRITE_ERR` (the
/// file cannot be created), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_StartGetAudioPCM(
    aSide: c_int,
    getType: c_int,
    jsonParam: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let params = params_object(jsonParam)?;
        let spec = match getType {
            0 => match params.get("EachSize") {
                None => TapSpec::Notify { each: 320 },
                Some(v) => {
                    // A whole number, written as 640 or 640.0.
                    let whole = v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0);
                    let each = v.as_u64().or(whole.map(|f| f as u64));
                    let each = each.ok_or(ErrorCode::ParamErr)?;
                    TapSpec::Notify {
                        each: usize::try_from(each).map_err(|_| ErrorCode::ParamErr)?,
                    }
                }
            },
            1 => match params.get("FileName").and_then(|v| v.as_str()) {
                Some(name) if !name.is_empty() => TapSpec::Wav(PathBuf::from(name)),
                _ => return Err(ErrorCode::ParamErr),
            },
            _ => return Err(ErrorCode::ParamErr),
        };
        if !matches!(aSide, 0 | 1) {
            return Err(ErrorCode::ParamErr);
        }
        instance.audio.start_tap(aSide, spec)
    })
}

/// Stops what `CRVideo_StartGetAudioPCM` started for `aSide` (a WAV file is finished:
/// its header carries the final sizes). Nothing started: nothing to do.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (unknown `aSide`), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_StopGetAudioPCM(aSide: c_int) -> c_int {
    returns_code(|| instance::current()?.audio.stop_tap(aSide))
}

/// `enable` non-zero: the app takes the speaker mix itself with
/// `CRVideo_PullCustomAudioDat`, at its own (sound card's) clock; 0: the SDK's clock runs
/// the speaker side (10 ms every 10 ms, to the speaker tap). `paramsJson` NULL, "" or `{}`.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (params not a JSON object), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetCustomAudioPlayback(
    enable: c_int,
    paramsJson: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        params_object(paramsJson)?;
        instance.audio.set_playback(enable != 0);
        Ok(())
    })
}

/// Fills `buf` with the next `len` bytes (even) of the speaker stream: 16 kHz 16-bit
/// little-endian mono, the mix of the other members of the meeting (silence when nobody
/// speaks, or outside a meeting). Call it at the pace you play it; the jitter buffer keeps
/// each member's audio steady in between. The speaker tap gets the same samples.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (NULL `buf`, `len` 0 or odd, playback not enabled
/// with `CRVideo_SetCustomAudioPlayback(1, …)`), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_PullCustomAudioDat(buf: *mut u8, len: usize) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        if buf.is_null() {
            return Err(ErrorCode::ParamErr);
        }
        instance
            .audio
            .pull(std::slice::from_raw_parts_mut(buf, len))
    })
}

/// The speaking level of `userID` (this user with its ID or "", or a member of the
/// meeting): 0 (silent, mic closed, not known here, not initialised) to 10, the value of
/// its last `MicEnergyUpdate`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_GetMicEnergy(userID: *const c_char) -> c_int {
    let Ok(instance) = instance::current() else {
        return 0;
    };
    match arg_str(userID) {
        Ok(user_id) => instance.audio.mic_energy(user_id),
        Err(_) => 0,
    }
}
