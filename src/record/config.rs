//! `recordCfgJson` of `CRVideo_StartRecording`.

use std::path::PathBuf;

use serde_json::Value;

use crate::ErrorCode;

/// Whose audio a recording has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioChoice {
    None,
    Own,
    Others,
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordCfg {
    /// The finished file; `<path>.recording` while recording.
    pub path: PathBuf,
    /// None: no video track.
    pub video: Option<VideoCfg>,
    pub audio: AudioChoice,
    /// `isUploadOnRecording`: the finished file goes to the net disk by itself.
    pub upload: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoCfg {
    pub width: usize,
    pub height: usize,
    pub fps: u32,
    pub bitrate: u32,
}

/// Parses `json`; `PARAM_ERR` for a missing or relative `recordPath`, a path not ending in
/// `.mp4`, a value out of range (frameRate 1–30, width 64–3840 and height 64–2160, both
/// even; bitRate 50,000–20,000,000; audioType and recDataType 0–3), or a recording with
/// neither video nor audio.
pub fn parse(json: &str) -> Result<RecordCfg, ErrorCode> {
    let Ok(Value::Object(cfg)) = serde_json::from_str::<Value>(json) else {
        return Err(ErrorCode::ParamErr);
    };
    let int = |key: &str, default: i64, range: std::ops::RangeInclusive<i64>| match cfg.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_i64()
            .filter(|v| range.contains(v))
            .ok_or(ErrorCode::ParamErr),
    };
    let path = cfg.get("recordPath").and_then(Value::as_str);
    let path = PathBuf::from(path.ok_or(ErrorCode::ParamErr)?);
    let mp4 = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("mp4"));
    if !path.is_absolute() || !mp4 || path.file_name().is_none() {
        return Err(ErrorCode::ParamErr);
    }
    let audio_type = int("audioType", 3, 0..=3)?;
    let data_type = int("recDataType", 0, 0..=3)?;
    let fps = int("frameRate", 15, 1..=30)? as u32;
    let width = int("width", 1280, 64..=3840)? as usize;
    let height = int("height", 720, 64..=2160)? as usize;
    let bitrate = int("bitRate", 1_000_000, 50_000..=20_000_000)? as u32;
    int("defaultQP", 28, 0..=51)?;
    let upload = int("isUploadOnRecording", 0, 0..=1)? == 1;
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        return Err(ErrorCode::ParamErr);
    }
    let audio = match (data_type, audio_type) {
        (1, _) => AudioChoice::Own,
        (2, _) => AudioChoice::Others,
        (3, _) | (0, 0) => AudioChoice::None,
        (_, 1) => AudioChoice::Own,
        (_, 2) => AudioChoice::Others,
        _ => AudioChoice::All,
    };
    let video = (data_type == 0 || data_type == 3).then_some(VideoCfg {
        width,
        height,
        fps,
        bitrate,
    });
    if video.is_none() && audio == AudioChoice::None {
        return Err(ErrorCode::ParamErr);
    }
    Ok(RecordCfg {
        path,
        video,
        audio,
        upload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_the_data_types() {
        let cfg = parse(r#"{"recordPath":"/tmp/a.mp4"}"#).unwrap();
        assert_eq!(cfg.audio, AudioChoice::All);
        assert_eq!(
            cfg.video,
            Some(VideoCfg {
                width: 1280,
                height: 720,
                fps: 15,
                bitrate: 1_000_000
            })
        );
        let own = parse(r#"{"recordPath":"/tmp/a.mp4","recDataType":1}"#).unwrap();
        assert_eq!((own.video, own.audio), (None, AudioChoice::Own));
        let mute = parse(r#"{"recordPath":"/tmp/a.mp4","recDataType":3}"#).unwrap();
        assert_eq!(mute.audio, AudioChoice::None);
        let others = parse(r#"{"recordPath":"/tmp/a.mp4","audioType":2}"#).unwrap();
        assert_eq!(others.audio, AudioChoice::Others);
    }

    #[test]
    fn bad_configs_are_refused() {
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"recordPath":"a.mp4"}"#,
            r#"{"recordPath":"/tmp/a.avi"}"#,
            r#"{"recordPath":"/tmp/a.mp4","frameRate":0}"#,
            r#"{"recordPath":"/tmp/a.mp4","width":641}"#,
            r#"{"recordPath":"/tmp/a.mp4","audioType":4}"#,
            r#"{"recordPath":"/tmp/a.mp4","bitRate":"1M"}"#,
            r#"{"recordPath":"/tmp/a.mp4","recDataType":0,"audioType":0,"width":1}"#,
        ] {
            assert_eq!(parse(bad), Err(ErrorCode::ParamErr), "{bad}");
        }
    }
}
