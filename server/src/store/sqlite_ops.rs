//! The store's operations in SQLite's dialect, each one job of the store thread (one
//! transaction with whatever else is queued).

use crvideo_proto::MeetInfo;
use rusqlite::OptionalExtension;

use super::sqlite::SqliteStore;
use super::{Caps, FileRecord, MeetingInsert, MeetingRow, StoreError};

pub async fn insert_meeting(
    store: &SqliteStore,
    tenant: &str,
    meeting: &MeetInfo,
    caps: Caps,
) -> Result<MeetingInsert, StoreError> {
    let (tenant, m) = (tenant.to_owned(), meeting.clone());
    store
        .run(move |t| {
            let count = |sql: &str, params: &[&dyn rusqlite::ToSql]| {
                t.query_row(sql, params, |row| row.get::<_, i64>(0))
                    .map(|n| n as usize)
            };
            let of_tenant = count(
                "SELECT COUNT(*) FROM meetings WHERE tenant = ?1",
                &[&tenant],
            )?;
            let of_creator = count(
                "SELECT COUNT(*) FROM meetings WHERE tenant = ?1 AND creator = ?2",
                &[&tenant, &m.creator],
            )?;
            if caps.reached(of_tenant, of_creator) {
                return Ok(MeetingInsert::OverCap);
            }
            let inserted = t.execute(
                "INSERT OR IGNORE INTO meetings (tenant, id, subject, pswd, creator, start_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![tenant, m.id, m.subject, m.pswd, m.creator, m.start_time],
            )?;
            Ok(if inserted == 1 {
                MeetingInsert::Inserted
            } else {
                MeetingInsert::IdTaken
            })
        })
        .await
}

pub async fn delete_meeting(
    store: &SqliteStore,
    tenant: &str,
    id: i32,
    creator: &str,
) -> Result<bool, StoreError> {
    let (tenant, creator) = (tenant.to_owned(), creator.to_owned());
    store
        .run(move |t| {
            t.execute(
                "DELETE FROM meetings WHERE tenant = ?1 AND id = ?2 AND creator = ?3",
                rusqlite::params![tenant, id, creator],
            )
            .map(|n| n == 1)
        })
        .await
}

pub async fn meeting(
    store: &SqliteStore,
    tenant: &str,
    id: i32,
) -> Result<Option<MeetingRow>, StoreError> {
    let tenant = tenant.to_owned();
    store
        .run(move |t| {
            t.query_row(
                "SELECT pswd, creator FROM meetings WHERE tenant = ?1 AND id = ?2",
                rusqlite::params![tenant, id],
                |row| {
                    Ok(MeetingRow {
                        pswd: row.get(0)?,
                        creator: row.get(1)?,
                    })
                },
            )
            .optional()
        })
        .await
}

pub async fn meetings(
    store: &SqliteStore,
    tenant: &str,
    max: i64,
) -> Result<Vec<MeetInfo>, StoreError> {
    let tenant = tenant.to_owned();
    store
        .run(move |t| {
            let mut query = t.prepare_cached(
                "SELECT id, subject, pswd, creator, start_time FROM meetings
                 WHERE tenant = ?1 ORDER BY start_time, id LIMIT ?2",
            )?;
            let rows = query.query_map(rusqlite::params![tenant, max], |row| {
                Ok(MeetInfo {
                    id: row.get(0)?,
                    subject: row.get(1)?,
                    pswd: row.get(2)?,
                    creator: row.get(3)?,
                    start_time: row.get(4)?,
                    pub_meet_url: String::new(),
                    member_count: 0,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
}

pub async fn known_users(store: &SqliteStore) -> Result<Vec<(String, String)>, StoreError> {
    store
        .run(|t| {
            let mut query = t.prepare("SELECT tenant, user_id FROM known_users")?;
            let rows = query.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
}

pub async fn remember_user(
    store: &SqliteStore,
    tenant: String,
    user: String,
) -> Result<(), StoreError> {
    store
        .run(move |t| {
            t.execute(
                "INSERT OR IGNORE INTO known_users (tenant, user_id) VALUES (?1, ?2)",
                [tenant, user],
            )
            .map(|_| ())
        })
        .await
}

pub async fn netdisk_files(
    store: &SqliteStore,
    tenant: Option<String>,
) -> Result<Vec<FileRecord>, StoreError> {
    store
        .run(move |t| {
            let mut query = t.prepare(
                "SELECT tenant, key, file_id, file_type, owner_id, owner_name, name, org_name,
                        md5, size, ctime FROM netdisk_files
                 WHERE ?1 IS NULL OR tenant = ?1 ORDER BY seq",
            )?;
            let rows = query.query_map([tenant], |row| {
                Ok(FileRecord::from_columns(
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    [
                        row.get(4)?,
                        row.get(5)?,
                        row.get(6)?,
                        row.get(7)?,
                        row.get(8)?,
                    ],
                    row.get(9)?,
                    row.get(10)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
}

pub async fn insert_netdisk_file(
    store: &SqliteStore,
    record: FileRecord,
) -> Result<(), StoreError> {
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

pub async fn delete_netdisk_file(
    store: &SqliteStore,
    tenant: String,
    key: String,
) -> Result<(), StoreError> {
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
