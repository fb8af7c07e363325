//! The net disk: file IDs, the listed file object, and the limits both sides check.
//!
//! A file ID is made by the SDK (`CRVideo_MakeNetDiskFileID`) and names everything the
//! server needs: `"<type>-<key>-<name>"`, where `type` is 0 (a shared file, listed) or 1 (a
//! resource such as a board background, not listed), `key` 32 lowercase hex digits of
//! randomness, and `name` the file's name on the disk. The key alone identifies a transfer
//! on the wire ([`crate::data::DataFrame::DiskChunk`]); the server never builds a path from
//! the name.

use serde::{Deserialize, Serialize};

/// A listed file, with the C API's field names (NetFileObj).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetFileObj {
    #[serde(rename = "fileID")]
    pub file_id: String,
    #[serde(rename = "ownerID")]
    pub owner_id: String,
    #[serde(rename = "ownerName")]
    pub owner_name: String,
    pub name: String,
    #[serde(rename = "orgFileName")]
    pub org_file_name: String,
    /// MD5 of the whole file, lowercase hex.
    pub md5: String,
    /// When the upload completed, seconds since 1970.
    pub ctime: i64,
    pub size: i64,
    #[serde(rename = "orgSize")]
    pub org_size: i64,
    /// 0: normal (a file is listed only once complete and verified).
    pub status: i32,
}

/// Kind of a file: listed by `GetNetDiskFileList`, or a resource (board background).
pub const FILE_TYPE_SHARED: u8 = 0;
pub const FILE_TYPE_RESOURCE: u8 = 1;
/// Longest file name, in bytes.
pub const MAX_FILE_NAME_BYTES: usize = 200;
/// Length of a file ID's key, in hex digits.
pub const KEY_HEX_LEN: usize = 32;

/// The parts of a valid file ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId<'a> {
    pub file_type: u8,
    pub key: &'a str,
    pub name: &'a str,
}

/// Whether `name` may name a net-disk file: 1–200 bytes, no path separators, no control
/// characters, not `.` or `..`.
pub fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_FILE_NAME_BYTES
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
}

/// Parses a file ID (see the module's notes); `None` when malformed.
pub fn parse_file_id(id: &str) -> Option<FileId<'_>> {
    let (file_type, rest) = id.split_once('-')?;
    let file_type = match file_type {
        "0" => FILE_TYPE_SHARED,
        "1" => FILE_TYPE_RESOURCE,
        _ => return None,
    };
    let (key, name) = rest.split_once('-')?;
    let key_ok = key.len() == KEY_HEX_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (key_ok && valid_file_name(name)).then_some(FileId {
        file_type,
        key,
        name,
    })
}

/// The file ID of `name` with `key` (32 lowercase hex digits).
pub fn make_file_id(file_type: u8, key: &str, name: &str) -> String {
    format!("{file_type}-{key}-{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn ids_round_trip_and_bad_ones_are_refused() {
        let id = make_file_id(0, KEY, "plan v2-final.pdf");
        let parsed = parse_file_id(&id).unwrap();
        assert_eq!(parsed.file_type, 0);
        assert_eq!(parsed.key, KEY);
        assert_eq!(parsed.name, "plan v2-final.pdf");
        assert_eq!(
            parse_file_id(&make_file_id(1, KEY, "bg.png"))
                .unwrap()
                .file_type,
            1
        );
        for bad in [
            "",
            "2-0123456789abcdef0123456789abcdef-x",
            "0-0123456789ABCDEF0123456789abcdef-x",
            "0-0123456789abcdef-x",
            "0-0123456789abcdef0123456789abcdef-",
            "0-0123456789abcdef0123456789abcdef-a/b",
            "0-0123456789abcdef0123456789abcdef-..",
            "0-0123456789abcdef0123456789abcdef-a\nb",
        ] {
            assert!(parse_file_id(bad).is_none(), "{bad:?}");
        }
        let long = "n".repeat(MAX_FILE_NAME_BYTES + 1);
        assert!(parse_file_id(&make_file_id(0, KEY, &long)).is_none());
    }
}
