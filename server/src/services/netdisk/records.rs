//! The net disk's rows in the durable store: one per file that is complete and verified.

use crvideo_proto::netdisk::NetFileObj;

use crate::services::meetings::store::{Store, StoreError};

/// A stored file: what the list shows, plus what the server needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub tenant: String,
    pub key: String,
    pub file_type: u8,
    pub obj: NetFileObj,
}

/// Every file of every tenant, oldest first.
pub async fn load_all(store: &Store) -> Result<Vec<FileRecord>, StoreError> {
    store
        .run(|t| {
            let mut query = t.prepare(
                "SELECT tenant, key, file_id, file_type, owner_id, owner_name, name, org_name,
                        md5, size, ctime FROM netdisk_files ORDER BY seq",
            )?;
            let rows = query.query_map([], |row| {
                let size: i64 = row.get(9)?;
                Ok(FileRecord {
                    tenant: row.get(0)?,
                    key: row.get(1)?,
                    file_type: row.get(3)?,
                    obj: NetFileObj {
                        file_id: row.get(2)?,
                        owner_id: row.get(4)?,
                        owner_name: row.get(5)?,
                        name: row.get(6)?,
                        org_file_name: row.get(7)?,
                        md5: row.get(8)?,
                        ctime: row.get(10)?,
                        size,
                        org_size: size,
                        status: 0,
                    },
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
}

/// Records a file; resolves once committed.
pub async fn insert(store: &Store, record: FileRecord) -> Result<(), StoreError> {
    store
        .run(move |t| {
            let o = &record.obj;
            t.execute(
                "INSERT INTO netdisk_files (tenant, key, file_id, file_type, owner_id,
                     owner_name, name, org_name, md5, size, ctime)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                rusqlite::params![
                    record.tenant,
                    record.key,
                    o.file_id,
                    record.file_type,
                    o.owner_id,
                    o.owner_name,
                    o.name,
                    o.org_file_name,
                    o.md5,
                    o.size,
                    o.ctime
                ],
            )
            .map(|_| ())
        })
        .await
}

/// Forgets a file (its body is deleted after this commits).
pub async fn delete(store: &Store, tenant: String, key: String) -> Result<(), StoreError> {
    store
        .run(move |t| {
            t.execute(
                "DELETE FROM netdisk_files WHERE tenant = ?1 AND key = ?2",
                [tenant, key],
            )
            .map(|_| ())
        })
        .await
}
