//! Meetings: create, destroy, list — kept in the durable store.

use crvideo_proto::{ErrorCode, MeetInfo, MAX_SUBJECT_CHARS};

pub use crate::store::{Caps, MeetingRow};
use crate::store::{MeetingInsert, Store, StoreError};

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
    let mut meeting = MeetInfo {
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
    for _ in 0..ID_TRIES {
        meeting.id = random_meeting_id();
        match store.insert_meeting(tenant, &meeting, caps).await {
            Ok(MeetingInsert::Inserted) => return Ok(meeting),
            Ok(MeetingInsert::IdTaken) => continue,
            Ok(MeetingInsert::OverCap) => return Err(ErrorCode::OutOfMem),
            Err(e) => return Err(store_failed(e)),
        }
    }
    Err(ErrorCode::ServerException)
}

/// Destroys meeting `id` of `tenant` if `user` created it.
pub async fn destroy(store: &Store, tenant: &str, user: &str, id: i32) -> Result<(), ErrorCode> {
    if store
        .delete_meeting(tenant, id, user)
        .await
        .map_err(store_failed)?
    {
        return Ok(());
    }
    match get(store, tenant, id).await? {
        None => Err(ErrorCode::MeetNotExist),
        Some(_) => Err(ErrorCode::ApiNoPermission),
    }
}

/// Meeting `id` of `tenant`, if it exists: its password and creator.
pub async fn get(store: &Store, tenant: &str, id: i32) -> Result<Option<MeetingRow>, ErrorCode> {
    store.meeting(tenant, id).await.map_err(store_failed)
}

/// The meetings of `tenant`, oldest first, at most `max` (the tenant's cap: a listing is one
/// frame).
pub async fn list(store: &Store, tenant: &str, max: usize) -> Result<Vec<MeetInfo>, ErrorCode> {
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    store.meetings(tenant, max).await.map_err(store_failed)
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
        crate::store::with_store("meetings", false, create_destroy_list_on).await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL"]
    async fn create_destroy_list_in_postgres() {
        crate::store::with_store("meetings-pg", true, create_destroy_list_on).await;
    }

    #[tokio::test]
    async fn meetings_are_capped_per_user_and_per_tenant() {
        crate::store::with_store("caps", false, caps_on).await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL"]
    async fn meetings_are_capped_in_postgres() {
        crate::store::with_store("caps-pg", true, caps_on).await;
    }

    async fn create_destroy_list_on(store: Store) {
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
    }

    async fn caps_on(store: Store) {
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
        // Concurrent creations cannot pass a cap together.
        let racers: Vec<_> = (0..6).map(|_| new("v", "dan")).collect();
        let made = futures_util::future::join_all(racers)
            .await
            .into_iter()
            .filter(Result::is_ok)
            .count();
        assert_eq!(made, 2, "per user, however many race");
    }
}
