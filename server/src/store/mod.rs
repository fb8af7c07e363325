//! The durable store: meetings, the users ever seen, and the net disk's file rows.
//!
//! Two backends behind one set of operations: SQLite embedded in the node (`crvideo.db`
//! under `data_dir`, the default) and PostgreSQL (`database_url`), which the nodes of a
//! cluster share. An operation resolves only once what it wrote is committed.
//!
//! The net disk's rows stay beside its bodies: in PostgreSQL when the bodies are in shared
//! object storage, but in this node's SQLite when they are under its `data_dir`, even when
//! meetings are in PostgreSQL: in a shared table, another node's rows would name bodies this
//! node does not have (and its start-up clean-up would take them for lost and delete them).

mod postgres;
mod sqlite;
mod sqlite_ops;

use std::io;
use std::path::Path;

use crvideo_proto::MeetInfo;

pub use self::postgres::check_url as check_database_url;
pub use self::sqlite::StoreThread;
pub use crate::services::netdisk::records::FileRecord;

use self::postgres::PgStore;
use self::sqlite::SqliteStore;

/// Why a store operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// The operation itself failed (nothing of it is stored).
    Query(String),
    /// The database cannot be reached, the commit failed, or the store is shut down:
    /// nothing of the operation is stored.
    Unavailable,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Query(e) => write!(f, "database error: {e}"),
            StoreError::Unavailable => write!(f, "database unavailable"),
        }
    }
}

impl std::error::Error for StoreError {}

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

impl Caps {
    /// Whether a tenant with `of_tenant` meetings, `of_creator` of them by the creator, may
    /// have no more.
    pub fn reached(&self, of_tenant: usize, of_creator: usize) -> bool {
        of_tenant >= self.per_tenant || of_creator >= self.per_user
    }
}

/// What [`Store::insert_meeting`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingInsert {
    Inserted,
    /// Another meeting has this ID: try another.
    IdTaken,
    /// The creator or the tenant has as many meetings as the caps allow.
    OverCap,
}

/// A handle to the store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// This node's SQLite: everything when `shared` is None, else the net disk's rows
    /// unless they are shared.
    local: SqliteStore,
    /// PostgreSQL (`database_url`): meetings and known users.
    shared: Option<PgStore>,
    /// The net disk's bodies are in shared storage: its rows go to `shared` too.
    netdisk_shared: bool,
}

impl Store {
    /// Opens PostgreSQL at `database_url` if given, and SQLite under `data_dir`, and
    /// brings their schemas up to date; `netdisk_shared`: the net disk's bodies are in
    /// shared storage (its rows then go to PostgreSQL). A database that cannot be reached
    /// is an error of kind `NotConnected` (a configuration problem: the binary exits with 2).
    pub async fn open(
        data_dir: &Path,
        database_url: Option<&str>,
        netdisk_shared: bool,
    ) -> io::Result<(Store, StoreThread)> {
        let shared = match database_url {
            Some(url) => Some(PgStore::open(url).await.map_err(|e| {
                io::Error::new(io::ErrorKind::NotConnected, format!("database_url: {e}"))
            })?),
            None => None,
        };
        let (local, thread) = SqliteStore::open(data_dir).map_err(io::Error::other)?;
        let store = Store {
            local,
            shared,
            netdisk_shared,
        };
        Ok((store, thread))
    }

    /// Stops the store: SQLite's jobs queued before this are committed, later ones fail
    /// with [`StoreError::Unavailable`] (PostgreSQL's pool closes with the process).
    pub fn close(&self) {
        self.local.close();
    }

    /// PostgreSQL if it holds the net disk's rows.
    fn shared_netdisk(&self) -> Option<&PgStore> {
        self.shared.as_ref().filter(|_| self.netdisk_shared)
    }

    /// Inserts `meeting` of `tenant` unless its ID is taken or `caps` are reached, checked
    /// in one transaction (concurrent creations cannot pass a cap together, on any node).
    pub async fn insert_meeting(
        &self,
        tenant: &str,
        meeting: &MeetInfo,
        caps: Caps,
    ) -> Result<MeetingInsert, StoreError> {
        match &self.shared {
            None => sqlite_ops::insert_meeting(&self.local, tenant, meeting, caps).await,
            Some(p) => p.insert_meeting(tenant, meeting, caps).await,
        }
    }

    /// Deletes meeting `id` of `tenant` if `creator` created it; whether it did.
    pub async fn delete_meeting(
        &self,
        tenant: &str,
        id: i32,
        creator: &str,
    ) -> Result<bool, StoreError> {
        match &self.shared {
            None => sqlite_ops::delete_meeting(&self.local, tenant, id, creator).await,
            Some(p) => p.delete_meeting(tenant, id, creator).await,
        }
    }

    pub async fn meeting(&self, tenant: &str, id: i32) -> Result<Option<MeetingRow>, StoreError> {
        match &self.shared {
            None => sqlite_ops::meeting(&self.local, tenant, id).await,
            Some(p) => p.meeting(tenant, id).await,
        }
    }

    /// The meetings of `tenant`, oldest first, at most `max`.
    pub async fn meetings(&self, tenant: &str, max: i64) -> Result<Vec<MeetInfo>, StoreError> {
        match &self.shared {
            None => sqlite_ops::meetings(&self.local, tenant, max).await,
            Some(p) => p.meetings(tenant, max).await,
        }
    }

    /// Every (tenant, user) that ever logged in.
    pub async fn known_users(&self) -> Result<Vec<(String, String)>, StoreError> {
        match &self.shared {
            None => sqlite_ops::known_users(&self.local).await,
            Some(p) => p.known_users().await,
        }
    }

    /// Records that (tenant, user) logged in.
    pub async fn remember_user(&self, tenant: String, user: String) -> Result<(), StoreError> {
        match &self.shared {
            None => sqlite_ops::remember_user(&self.local, tenant, user).await,
            Some(p) => p.remember_user(&tenant, &user).await,
        }
    }

    /// The net disk's files, of every tenant or of one, oldest first (rows of this node's
    /// bodies: see the module's doc).
    pub async fn netdisk_files(&self, tenant: Option<&str>) -> Result<Vec<FileRecord>, StoreError> {
        match self.shared_netdisk() {
            Some(p) => p.netdisk_files(tenant).await,
            None => sqlite_ops::netdisk_files(&self.local, tenant.map(str::to_owned)).await,
        }
    }

    pub async fn insert_netdisk_file(&self, record: FileRecord) -> Result<(), StoreError> {
        match self.shared_netdisk() {
            Some(p) => p.insert_netdisk_file(&record).await,
            None => sqlite_ops::insert_netdisk_file(&self.local, record).await,
        }
    }

    pub async fn delete_netdisk_file(&self, tenant: String, key: String) -> Result<(), StoreError> {
        match self.shared_netdisk() {
            Some(p) => p.delete_netdisk_file(&tenant, &key).await,
            None => sqlite_ops::delete_netdisk_file(&self.local, tenant, key).await,
        }
    }
}

/// For tests: runs `scenario` on a store of its own, SQLite in a fresh directory or a
/// fresh PostgreSQL (`postgres`; the net disk's rows there too), then closes it.
#[cfg(test)]
pub(crate) async fn with_store(tag: &str, postgres: bool, scenario: impl AsyncFnOnce(Store)) {
    let dir = std::env::temp_dir().join(format!("crvideo-store-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pg = postgres.then(crvideo_testkit::engines::Postgres::start);
    let url = pg.as_ref().map(|pg| pg.url());
    let (store, thread) = Store::open(&dir, url.as_deref(), postgres).await.unwrap();
    scenario(store.clone()).await;
    store.close();
    thread.join();
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(tenant: &str, key: &str, size: i64) -> FileRecord {
        FileRecord::from_columns(
            tenant.into(),
            key.into(),
            format!("id-{key}"),
            1,
            [
                "amy".into(),
                "Amy".into(),
                "a.bin".into(),
                "a.bin".into(),
                "md5".into(),
            ],
            size,
            1_700_000_000,
        )
    }

    /// Known users and net-disk rows, the same on both backends.
    async fn rows_on(store: Store) {
        store.remember_user("t".into(), "amy".into()).await.unwrap();
        store.remember_user("t".into(), "amy".into()).await.unwrap();
        store.remember_user("u".into(), "amy".into()).await.unwrap();
        let mut known = store.known_users().await.unwrap();
        known.sort();
        assert_eq!(
            known,
            [("t".into(), "amy".into()), ("u".into(), "amy".into())]
        );

        let (a, b, c) = (
            record("t", "k1", 10),
            record("t", "k2", 1 << 40),
            record("u", "k1", 3),
        );
        for r in [&a, &b, &c] {
            store.insert_netdisk_file(r.clone()).await.unwrap();
        }
        assert!(
            matches!(
                store.insert_netdisk_file(a.clone()).await,
                Err(StoreError::Query(_))
            ),
            "one row per tenant and key"
        );
        assert_eq!(
            store.netdisk_files(None).await.unwrap(),
            [a.clone(), b.clone(), c.clone()]
        );
        assert_eq!(
            store.netdisk_files(Some("t")).await.unwrap(),
            [a.clone(), b]
        );
        store
            .delete_netdisk_file("t".into(), "k2".into())
            .await
            .unwrap();
        assert_eq!(store.netdisk_files(None).await.unwrap(), [a, c]);
    }

    #[tokio::test]
    async fn rows_in_sqlite() {
        with_store("rows", false, rows_on).await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL"]
    async fn rows_in_postgres() {
        with_store("rows-pg", true, rows_on).await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL"]
    async fn postgres_schema_is_made_once_by_nodes_starting_together() {
        let pg = crvideo_testkit::engines::Postgres::start();
        let url = pg.url();
        let dirs: Vec<_> = (0..4)
            .map(|i| {
                let dir = std::env::temp_dir()
                    .join(format!("crvideo-store-nodes-{i}-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&dir);
                dir
            })
            .collect();
        let opened =
            futures_util::future::join_all(dirs.iter().map(|d| Store::open(d, Some(&url), false)))
                .await;
        let (stores, threads): (Vec<_>, Vec<_>) = opened
            .into_iter()
            .map(|o| o.expect("every node opens it"))
            .unzip();
        // Meetings are shared; net-disk rows of bodies kept locally are not.
        let caps = Caps {
            per_user: 9,
            per_tenant: 9,
        };
        let meeting = MeetInfo {
            id: 12_345_678,
            pswd: String::new(),
            subject: "s".into(),
            pub_meet_url: String::new(),
            creator: "amy".into(),
            member_count: 0,
            start_time: 1,
        };
        assert_eq!(
            stores[0].insert_meeting("t", &meeting, caps).await.unwrap(),
            MeetingInsert::Inserted
        );
        stores[0]
            .insert_netdisk_file(record("t", "k", 1))
            .await
            .unwrap();
        for store in &stores[1..] {
            assert_eq!(
                store.meetings("t", 10).await.unwrap(),
                std::slice::from_ref(&meeting)
            );
            assert_eq!(store.netdisk_files(None).await.unwrap(), []);
        }
        assert_eq!(stores[0].netdisk_files(None).await.unwrap().len(), 1);
        for (store, thread) in stores.into_iter().zip(threads) {
            store.close();
            thread.join();
        }
        for dir in dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    #[tokio::test]
    async fn an_unreachable_postgres_is_not_connected() {
        let port = crvideo_testkit::engines::free_port();
        let url = format!("postgres://crv:secret@127.0.0.1:{port}/crv");
        let Err(e) = Store::open(Path::new("/nonexistent"), Some(&url), false).await else {
            panic!("opened a database that is not there");
        };
        assert_eq!(e.kind(), io::ErrorKind::NotConnected);
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
