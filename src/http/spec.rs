//! The app's `fileInfoJson`: what one transfer is, checked before anything starts.

use std::path::PathBuf;

use serde_json::Value;

use crate::ErrorCode;

/// Which way the bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `bUploadType` 0: GET `httpUrl` into `filePathName`.
    Download,
    /// `bUploadType` 1: send `filePathName` to `httpUrl`.
    Upload,
}

/// One transfer as the app described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferSpec {
    pub direction: Direction,
    /// `filePathName` exactly as given: the transfer's key and the callbacks' `fileName`.
    pub name: String,
    /// The same, as a path (absolute).
    pub path: PathBuf,
    pub url: String,
    /// `extParams` in the order given: request headers, or form fields for a multipart
    /// upload. Numbers and booleans are sent as their JSON text.
    pub ext_params: Vec<(String, String)>,
    /// `transforCfg.extParamsTransfType` 1 on an upload: multipart/form-data POST.
    pub multipart: bool,
}

impl TransferSpec {
    /// Parses `fileInfoJson`: `PARAM_ERR` for malformed JSON, a missing or mistyped field, a
    /// relative `filePathName` or one that names no file, an `extParams` value that is not
    /// a string, number or boolean. The URL itself is judged later (FileFinished 6).
    pub fn parse(json: &str) -> Result<TransferSpec, ErrorCode> {
        let value: Value = serde_json::from_str(json).map_err(|_| ErrorCode::ParamErr)?;
        let Value::Object(map) = value else {
            return Err(ErrorCode::ParamErr);
        };
        let direction = match map.get("bUploadType").and_then(Value::as_i64) {
            Some(0) => Direction::Download,
            Some(1) => Direction::Upload,
            _ => return Err(ErrorCode::ParamErr),
        };
        let name = map
            .get("filePathName")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(ErrorCode::ParamErr)?
            .to_owned();
        let path = PathBuf::from(&name);
        if !path.is_absolute() || path.file_name().is_none() || name.ends_with('/') {
            return Err(ErrorCode::ParamErr);
        }
        let url = map
            .get("httpUrl")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .ok_or(ErrorCode::ParamErr)?
            .trim()
            .to_owned();
        let ext_params = match map.get("extParams") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(params)) => params
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    Value::Number(n) => Ok((k.clone(), n.to_string())),
                    Value::Bool(b) => Ok((k.clone(), b.to_string())),
                    _ => Err(ErrorCode::ParamErr),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(ErrorCode::ParamErr),
        };
        let multipart = match map.get("transforCfg") {
            None | Some(Value::Null) => false,
            Some(Value::Object(cfg)) => match cfg.get("extParamsTransfType") {
                None | Some(Value::Null) => false,
                Some(v) => match v.as_i64() {
                    Some(0) => false,
                    Some(1) => true,
                    _ => return Err(ErrorCode::ParamErr),
                },
            },
            Some(_) => return Err(ErrorCode::ParamErr),
        };
        Ok(TransferSpec {
            direction,
            name,
            path,
            url,
            ext_params,
            multipart: multipart && direction == Direction::Upload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_upload_description() {
        let spec = TransferSpec::parse(
            r#"{"bUploadType":1,"filePathName":"/tmp/a.bin","httpUrl":" http://h/x ",
               "extParams":{"X-A":"1","n":2,"b":true},"transforCfg":{"extParamsTransfType":1}}"#,
        )
        .unwrap();
        assert_eq!(spec.direction, Direction::Upload);
        assert_eq!(spec.name, "/tmp/a.bin");
        assert_eq!(spec.url, "http://h/x");
        assert_eq!(
            spec.ext_params,
            vec![
                ("X-A".to_owned(), "1".to_owned()),
                ("b".to_owned(), "true".to_owned()),
                ("n".to_owned(), "2".to_owned()),
            ]
        );
        assert!(spec.multipart);
    }

    #[test]
    fn a_minimal_download() {
        let spec =
            TransferSpec::parse(r#"{"bUploadType":0,"filePathName":"/d/f","httpUrl":"ftp://x"}"#)
                .unwrap();
        assert_eq!(spec.direction, Direction::Download);
        assert!(spec.ext_params.is_empty());
        assert!(!spec.multipart);
    }

    #[test]
    fn malformed_descriptions_are_param_err() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"filePathName":"/a","httpUrl":"http://h"}"#,
            r#"{"bUploadType":2,"filePathName":"/a","httpUrl":"http://h"}"#,
            r#"{"bUploadType":"0","filePathName":"/a","httpUrl":"http://h"}"#,
            r#"{"bUploadType":0,"httpUrl":"http://h"}"#,
            r#"{"bUploadType":0,"filePathName":"rel/a","httpUrl":"http://h"}"#,
            r#"{"bUploadType":0,"filePathName":"/","httpUrl":"http://h"}"#,
            r#"{"bUploadType":0,"filePathName":"/d/","httpUrl":"http://h"}"#,
            r#"{"bUploadType":0,"filePathName":"/a"}"#,
            r#"{"bUploadType":0,"filePathName":"/a","httpUrl":""}"#,
            r#"{"bUploadType":0,"filePathName":"/a","httpUrl":"http://h","extParams":[1]}"#,
            r#"{"bUploadType":0,"filePathName":"/a","httpUrl":"http://h","extParams":{"a":{}}}"#,
            r#"{"bUploadType":1,"filePathName":"/a","httpUrl":"http://h","transforCfg":{"extParamsTransfType":3}}"#,
            r#"{"bUploadType":1,"filePathName":"/a","httpUrl":"http://h","transforCfg":1}"#,
        ] {
            assert_eq!(TransferSpec::parse(bad), Err(ErrorCode::ParamErr), "{bad}");
        }
    }
}
