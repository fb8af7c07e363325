//! Meetings: create, destroy, list — kept in the durable store.

use crvideo_proto::{ErrorCode, MeetInfo, MAX_SUBJECT_CHARS};
use rusqlite::OptionalExtension;

pub mod store;

use store::{Store, StoreError};

/// Meeting IDs are random 8-digit numbers: positive, fit an `int`, not sequential.
const ID_RANGE: std::ops::RangeInclusive<i32> = 10_000_000..=99_999_999;
/// Tries before giving up on finding a free ID (a clash is rare; several in a row, absurd).
const ID_TRIES: usize = 8;

fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    getrandom::getrandom(&mut bytes).expect("the OS random source is available");
    u32::from_le_bytes(bytes)
}

fn random_meeting_id() -> i32 {
    let span = (ID_RANGE.end() - ID_RANGE.start() + 1) as u32;
    ID_RANGE.start() + (random_u32() % span) as i32
}

/// A generated meeting password: six digits.
fn random_password() -> String {
    format!("{:06}", random_u32() % 1_000_000)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn store_failed(e: StoreError) -> ErrorCode {
    tracing::error!("meetings: {e}");
    ErrorCode::ServerException
}

/// A meeting as the store has it, what entering its room needs of it.
#[derive(Debug, Clone)]
pub struct MeetingRow {
    pub pswd: String,
    pub creator: String,
}

/// How many meetings may exist (`limits.max_meetings_per_user` / `_per_tenant`).
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub per_user: usize,
    pub per_tenant: usize,
}

/// Creates a meeting of `tenant` by `creator`; returns it once stored durably. `OUTOF_MEM`
/// when the creator or the tenant has as many meetings as `caps` allow (checked in the
/// store's transaction, so concurrent creations cannot pass a cap together).
pub async fn create(
    store: &Store,
    caps: Caps,
    tenant: &str,
    creator: &str,
    subject: String,
    with_password: bool,
) -> Result<MeetInfo, ErrorCode> {
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(ErrorCode::ParamErr);
    }
    let meeting = MeetInfo {
        id: 0,
        pswd: if with_password {
            random_password()
        } else {
            String::new()
        },
        subject,
        pub_meet_url: String::new(),
        creator: creator.to_owned(),
        member_count: 0,
        start_time: now_secs(),
    };
    let tenant = tenant.to_owned();
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
                &[&tenant, &meeting.creator],
            )?;
            if of_tenant >= caps.per_tenant || of_creator >= caps.per_user {
                return Ok(Err(ErrorCode::OutOfMem));
            }
            let mut meeting = meeting;
            for _ in 0..ID_TRIES {
                meeting.id = random_meeting_id();
                let inserted = t.execute(
                    "INSERT OR IGNORE INTO meetings (tenant, id, subject, pswd, creator, start_time)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    rusqlite::params![
                        tenant,
                        meeting.id,
                        meeting.subject,
                        meeting.pswd,
                        meeting.creator,
                        meeting.start_time
                    ],
                )?;
                if inserted == 1 {
                    return Ok(Ok(meeting));
                }
            }
            Ok(Err(ErrorCode::ServerException))
        })
        .await
        .map_err(store_failed)?
}

/// Destroys meeting `id` of `tenant` if `user` created it.
pub async fn destroy(store: &Store, tenant: &str, user: &str, id: i32) -> Result<(), ErrorCode> {
    let (tenant, user) = (tenant.to_owned(), user.to_owned());
    store
        .run(move |t| {
            let creator: Option<String> = t
                .query_row(
                    "SELECT creator FROM meetings WHERE tenant = ?1 AND id = ?2",
                    rusqlite::params![tenant, id],
                    |row| row.get(0),
                )
                .optional()?;
            Ok(match creator {
                None => Err(ErrorCode::MeetNotExist),
                Some(creator) if creator != user => Err(ErrorCode::ApiNoPermission),
                Some(_) => {
                    t.execute(
                        "DELETE FROM meetings WHERE tenant = ?1 AND id = ?2",
                        rusqlite::params![tenant, id],
                    )?;
                    Ok(())
                }
            })
        })
        .await
        .map_err(store_failed)?
}

/// Meeting `id` of `tenant`, if it exists: its password and creator.
pub async fn get(store: &Store, tenant: &str, id: i32) -> Result<Option<MeetingRow>, ErrorCode> {
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
        .map_err(store_failed)
}

/// The meetings of `tenant`, oldest first, at most `max` (the tenant's cap: a listing is one
/// frame).
pub async fn list(store: &Store, tenant: &str, max: usize) -> Result<Vec<MeetInfo>, ErrorCode> {
    let tenant = tenant.to_owned();
    let max = i64::try_from(max).unwrap_or(i64::MAX);
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
        .map_err(store_failed)
}

/// Every (tenant, user) that ever logged in.
pub async fn known_users(store: &Store) -> Result<Vec<(String, String)>, StoreError> {
    store
        .run(|t| {
            let mut query = t.prepare("SELECT tenant, user_id FROM known_users")?;
            let rows = query.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
}

/// Records that (tenant, user) logged in.
pub async fn remember_user(store: &Store, tenant: String, user: String) -> Result<(), StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_passwords_have_their_shape() {
        for _ in 0..1000 {
            assert!(ID_RANGE.contains(&random_meeting_id()));
            let p = random_password();
            assert_eq!(p.len(), 6);
            assert!(p.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[tokio::test]
    async fn create_destroy_list() {
        let dir = std::env::temp_dir().join(format!("crvideo-meetings-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (store, thread) = Store::open(&dir).unwrap();
        let caps = Caps {
            per_user: 100,
            per_tenant: 100,
        };
        let fifty = "会".repeat(50);
        let a = create(&store, caps, "t", "amy", fifty.clone(), true)
            .await
            .unwrap();
        assert_eq!(a.subject, fifty, "50 characters, 150 bytes: accepted");
        assert_eq!(a.pswd.len(), 6);
        let b = create(&store, caps, "t", "ben", "b".into(), false)
            .await
            .unwrap();
        assert_eq!(b.pswd, "");
        assert_ne!(a.id, b.id);
        assert_eq!(
            create(&store, caps, "t", "amy", "x".repeat(51), false).await,
            Err(ErrorCode::ParamErr)
        );
        create(&store, caps, "other", "amy", "o".into(), false)
            .await
            .unwrap();
        let mut both = vec![a.clone(), b.clone()];
        both.sort_by_key(|m| (m.start_time, m.id));
        assert_eq!(list(&store, "t", 100).await.unwrap(), both);
        assert_eq!(
            destroy(&store, "t", "ben", a.id).await,
            Err(ErrorCode::ApiNoPermission)
        );
        assert_eq!(
            destroy(&store, "other", "amy", a.id).await,
            Err(ErrorCode::MeetNotExist)
        );
        assert_eq!(destroy(&store, "t", "amy", a.id).await, Ok(()));
        assert_eq!(
            destroy(&store, "t", "amy", a.id).await,
            Err(ErrorCode::MeetNotExist)
        );
        assert_eq!(list(&store, "t", 100).await.unwrap(), vec![b]);
        store.close();
        thread.join();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn meetings_are_capped_per_user_and_per_tenant() {
        let dir = std::env::temp_dir().join(format!("crvideo-caps-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (store, thread) = Store::open(&dir).unwrap();
        let caps = Caps {
            per_user: 2,
            per_tenant: 3,
        };
        let new = |tenant: &'static str, user: &'static str| {
            create(&store, caps, tenant, user, "m".into(), false)
        };
        let first = new("t", "amy").await.unwrap();
        new("t", "amy").await.unwrap();
        assert_eq!(new("t", "amy").await, Err(ErrorCode::OutOfMem), "per user");
        new("t", "ben").await.unwrap();
        assert_eq!(
            new("t", "cat").await,
            Err(ErrorCode::OutOfMem),
            "per tenant"
        );
        new("u", "cat").await.unwrap();
        // Destroying one makes room again; a listing holds at most what is asked.
        destroy(&store, "t", "amy", first.id).await.unwrap();
        new("t", "cat").await.unwrap();
        assert_eq!(list(&store, "t", 3).await.unwrap().len(), 3);
        assert_eq!(list(&store, "t", 2).await.unwrap().len(), 2);
        store.close();
        thread.join();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
