//! The net disk's rows in the durable store ([`crate::store`]): one per file that is
//! complete and verified.

use crvideo_proto::netdisk::NetFileObj;

/// A stored file: what the list shows, plus what the server needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub tenant: String,
    pub key: String,
    pub file_type: u8,
    pub obj: NetFileObj,
}

impl FileRecord {
    /// A record from a row's columns, in the table's order: `texts` are the owner's ID and
    /// name, the name, the original name and the MD5.
    pub fn from_columns(
        tenant: String,
        key: String,
        file_id: String,
        file_type: u8,
        texts: [String; 5],
        size: i64,
        ctime: i64,
    ) -> FileRecord {
        let [owner_id, owner_name, name, org_file_name, md5] = texts;
        FileRecord {
            tenant,
            key,
            file_type,
            obj: NetFileObj {
                file_id,
                owner_id,
                owner_name,
                name,
                org_file_name,
                md5,
                ctime,
                size,
                org_size: size,
                status: 0,
            },
        }
    }
}
