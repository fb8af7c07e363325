//! The embedded store: a SQLite database (`crvideo.db` under `data_dir`, WAL mode).
//!
//! One thread owns the connection. Callers hand it jobs and await the result; the thread runs
//! whatever jobs are queued in one transaction (each in its own savepoint, so one failing job
//! does not undo the others) and answers them only after the commit is on disk
//! (`synchronous = FULL`): what a client was told is stored survives a crash or `kill -9`.
//! Grouping the queued jobs into one commit keeps throughput up under load.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::{Connection, Transaction};
use tokio::sync::oneshot;

use super::StoreError;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Append
/// new steps, never edit old ones.
const MIGRATIONS: &[&str] = &[
    // 1: meetings and the users ever seen (for ERR_USER_NOT_FOUND vs ERR_OFFLINE).
    "CREATE TABLE meetings (
         tenant TEXT NOT NULL,
         id INTEGER NOT NULL,
         subject TEXT NOT NULL,
         pswd TEXT NOT NULL,
         creator TEXT NOT NULL,
         start_time INTEGER NOT NULL,
         PRIMARY KEY (tenant, id)
     );
     CREATE UNIQUE INDEX meetings_id ON meetings (id);
     CREATE TABLE known_users (
         tenant TEXT NOT NULL,
         user_id TEXT NOT NULL,
         PRIMARY KEY (tenant, user_id)
     );",
    // 2: net-disk files, listed once complete and verified (bodies in the storage).
    "CREATE TABLE netdisk_files (
         tenant TEXT NOT NULL,
         key TEXT NOT NULL,
         file_id TEXT NOT NULL,
         file_type INTEGER NOT NULL,
         owner_id TEXT NOT NULL,
         owner_name TEXT NOT NULL,
         name TEXT NOT NULL,
         org_name TEXT NOT NULL,
         md5 TEXT NOT NULL,
         size INTEGER NOT NULL,
         ctime INTEGER NOT NULL,
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         UNIQUE (tenant, key)
     );",
];

/// Most jobs run in one commit.
const MAX_GROUP: usize = 256;

type Job = Box<dyn FnOnce(&Transaction<'_>) -> Box<dyn FnOnce(bool) + Send> + Send>;

/// What the store thread receives: a job, or `None` to finish and stop.
type Message = Option<Job>;

/// A handle to the store thread. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Message>,
}

/// The store thread; [`StoreThread::join`] waits for queued jobs to be committed.
pub struct StoreThread {
    handle: Option<JoinHandle<()>>,
}

impl StoreThread {
    /// Waits until every job queued before [`SqliteStore::close`] is committed.
    pub fn join(mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) `data_dir/crvideo.db` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<(SqliteStore, StoreThread), String> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create data dir {}: {e}", data_dir.display()))?;
        let path: PathBuf = data_dir.join("crvideo.db");
        let mut conn =
            Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        prepare(&mut conn).map_err(|e| format!("cannot prepare {}: {e}", path.display()))?;
        let (jobs, queue) = mpsc::channel::<Message>();
        let handle = std::thread::Builder::new()
            .name("crvideo-store".into())
            .spawn(move || run(conn, queue))
            .map_err(|e| format!("cannot start the store thread: {e}"))?;
        Ok((
            SqliteStore { jobs },
            StoreThread {
                handle: Some(handle),
            },
        ))
    }

    /// Runs `job` in the store's transaction; resolves once it is committed.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let wrapped: Job = Box::new(move |txn| {
            let result = run_in_savepoint(txn, job);
            Box::new(move |committed: bool| {
                let _ = tx.send(match (result, committed) {
                    (Ok(value), true) => Ok(value),
                    (Err(e), _) => Err(StoreError::Query(e.to_string())),
                    (Ok(_), false) => Err(StoreError::Unavailable),
                });
            })
        });
        self.jobs
            .send(Some(wrapped))
            .map_err(|_| StoreError::Unavailable)?;
        rx.await.unwrap_or(Err(StoreError::Unavailable))
    }

    /// Stops the store: jobs queued before this are committed, later ones fail with
    /// [`StoreError::Unavailable`].
    pub fn close(&self) {
        let _ = self.jobs.send(None);
    }
}

fn run_in_savepoint<T>(
    txn: &Transaction<'_>,
    job: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    txn.execute_batch("SAVEPOINT job")?;
    match job(txn) {
        Ok(value) => {
            txn.execute_batch("RELEASE job")?;
            Ok(value)
        }
        Err(e) => {
            let _ = txn.execute_batch("ROLLBACK TO job; RELEASE job");
            Err(e)
        }
    }
}

fn prepare(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let done: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(done) {
        let txn = conn.transaction()?;
        txn.execute_batch(migration)?;
        txn.pragma_update(None, "user_version", index + 1)?;
        txn.commit()?;
        tracing::info!("database schema migrated to version {}", index + 1);
    }
    Ok(())
}

fn run(mut conn: Connection, queue: mpsc::Receiver<Message>) {
    let mut closing = false;
    while !closing {
        let Ok(Some(first)) = queue.recv() else {
            break;
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(Some(job)) => group.push(job),
                Ok(None) => {
                    closing = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let txn = match conn.transaction() {
            Ok(txn) => txn,
            Err(e) => {
                tracing::error!("database: cannot begin a transaction: {e}");
                continue; // dropping the jobs fails their callers
            }
        };
        let answers: Vec<_> = group.into_iter().map(|job| job(&txn)).collect();
        let committed = match txn.commit() {
            Ok(()) => true,
            Err(e) => {
                tracing::error!("database: commit failed: {e}");
                false
            }
        };
        for answer in answers {
            answer(committed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("crvideo-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn jobs_commit_and_fail_independently() {
        let dir = temp_dir("jobs");
        let (store, thread) = SqliteStore::open(&dir).unwrap();
        let insert = |id: i32| {
            store.run(move |t| {
                t.execute(
                    "INSERT INTO meetings VALUES ('t', ?1, 's', '', 'c', 0)",
                    [id],
                )
            })
        };
        let (a, b, c) = tokio::join!(insert(1), insert(1), insert(2));
        assert!(
            a.is_ok() ^ b.is_ok(),
            "exactly one of two same-ID inserts succeeds"
        );
        assert!(c.is_ok());
        let count = store
            .run(|t| t.query_row("SELECT COUNT(*) FROM meetings", [], |r| r.get::<_, i64>(0)))
            .await
            .unwrap();
        assert_eq!(count, 2);
        store.close();
        thread.join();
        assert!(matches!(
            store.run(|_| Ok(())).await,
            Err(StoreError::Unavailable)
        ));

        // Reopening keeps the data and does not migrate twice.
        let (store, thread) = SqliteStore::open(&dir).unwrap();
        let version = store
            .run(|t| t.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)))
            .await
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let count = store
            .run(|t| t.query_row("SELECT COUNT(*) FROM meetings", [], |r| r.get::<_, i64>(0)))
            .await
            .unwrap();
        assert_eq!(count, 2);
        store.close();
        thread.join();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unusable_data_dir_is_an_error() {
        let file = temp_dir("file");
        std::fs::write(&file, b"not a dir").unwrap();
        assert!(SqliteStore::open(&file).is_err());
        let _ = std::fs::remove_file(&file);
    }
}
