//! The shared store: PostgreSQL (`database_url`), for nodes of a cluster that must see the
//! same meetings, known users and net-disk files.
//!
//! A small pool of connections (deadpool) reconnects by itself: while the database is away,
//! every operation fails within [`OP_TIMEOUT`] with [`StoreError::Unavailable`] (the request
//! gets a code) and everything live goes on; once it is back, the next operation reconnects.
//! Each operation is one transaction, committed before it returns: PostgreSQL's own
//! durability stands behind what a client is told.

use std::time::Duration;

use crvideo_proto::MeetInfo;
use deadpool_postgres::tokio_postgres::{self, NoTls, Row};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};

use super::{Caps, FileRecord, MeetingInsert, MeetingRow, StoreError};

/// Connections per node: the store serves creation, listing and lookups of meetings and
/// net-disk rows, not the live traffic.
const POOL_SIZE: usize = 8;
/// Longest a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest one operation may take, waiting for a connection included.
const OP_TIMEOUT: Duration = Duration::from_secs(10);
/// Serialises schema migrations of nodes starting at once (`pg_advisory_lock`'s key).
const MIGRATION_LOCK: i64 = 0x0063_7276_6964_656f; // "crvideo" in ASCII

/// Schema migrations, applied in order; table `crv_schema` records how many ran. Append new
/// steps, never edit old ones. The same tables as SQLite's, in PostgreSQL's types.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE meetings (
         tenant TEXT NOT NULL,
         id INTEGER NOT NULL,
         subject TEXT NOT NULL,
         pswd TEXT NOT NULL,
         creator TEXT NOT NULL,
         start_time BIGINT NOT NULL,
         PRIMARY KEY (tenant, id)
     );
     CREATE UNIQUE INDEX meetings_id ON meetings (id);
     CREATE TABLE known_users (
         tenant TEXT NOT NULL,
         user_id TEXT NOT NULL,
         PRIMARY KEY (tenant, user_id)
     );",
    "CREATE TABLE netdisk_files (
         tenant TEXT NOT NULL,
         key TEXT NOT NULL,
         file_id TEXT NOT NULL,
         file_type SMALLINT NOT NULL,
         owner_id TEXT NOT NULL,
         owner_name TEXT NOT NULL,
         name TEXT NOT NULL,
         org_name TEXT NOT NULL,
         md5 TEXT NOT NULL,
         size BIGINT NOT NULL,
         ctime BIGINT NOT NULL,
         seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         UNIQUE (tenant, key)
     );",
];

/// A handle to the pool. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

/// Checks a `database_url` without connecting: a PostgreSQL URL or key=value string whose
/// TLS mode this build can honour (it speaks plain TCP: `sslmode=require` is refused rather
/// than silently ignored).
pub fn check_url(url: &str) -> Result<(), String> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("not a PostgreSQL URL ({e})"))?;
    if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        return Err("sslmode=require: TLS to PostgreSQL is not supported by this build".into());
    }
    Ok(())
}

fn failed(e: tokio_postgres::Error) -> StoreError {
    if e.is_closed() || e.as_db_error().is_none() {
        StoreError::Unavailable
    } else {
        StoreError::Query(e.to_string())
    }
}

impl PgStore {
    /// Connects to `url` and brings the schema up to date; an error is one line (never the
    /// URL's password).
    pub async fn open(url: &str) -> Result<PgStore, String> {
        check_url(url)?;
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
        let server = describe_server(&config);
        config.connect_timeout(CONNECT_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("crvideo-server");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(OP_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| format!("cannot make the connection pool: {e}"))?;
        let store = PgStore { pool };
        store
            .migrate()
            .await
            .map_err(|e| format!("cannot use PostgreSQL at {server}: {e}"))?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), String> {
        let mut client = self.pool.get().await.map_err(|e| with_causes(&e))?;
        let client = &mut **client;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| with_causes(&e))?;
        let result = async {
            client
                .batch_execute("CREATE TABLE IF NOT EXISTS crv_schema (version INTEGER NOT NULL)")
                .await?;
            let done: i64 = client
                .query_one(
                    "SELECT COALESCE(MAX(version), 0)::BIGINT FROM crv_schema",
                    &[],
                )
                .await?
                .get(0);
            for (index, migration) in MIGRATIONS.iter().enumerate().skip(done as usize) {
                let txn = client.transaction().await?;
                txn.batch_execute(migration).await?;
                txn.execute("INSERT INTO crv_schema VALUES ($1)", &[&(index as i32 + 1)])
                    .await?;
                txn.commit().await?;
                tracing::info!("database schema migrated to version {}", index + 1);
            }
            Ok::<_, tokio_postgres::Error>(())
        }
        .await;
        let _ = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        result.map_err(|e| with_causes(&e))
    }

    /// A pooled connection (a new one if the pool has none left open).
    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| {
            tracing::warn!("database: no connection: {e}");
            StoreError::Unavailable
        })
    }

    pub async fn insert_meeting(
        &self,
        tenant: &str,
        m: &MeetInfo,
        caps: Caps,
    ) -> Result<MeetingInsert, StoreError> {
        let mut c = self.client().await?;
        bounded(async {
            let t = c.transaction().await?;
            // Creations of one tenant one at a time, on every node: the caps hold.
            t.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&tenant])
                .await?;
            let count = |row: Row| row.get::<_, i64>(0) as usize;
            let of_tenant = count(
                t.query_one(
                    "SELECT COUNT(*) FROM meetings WHERE tenant = $1",
                    &[&tenant],
                )
                .await?,
            );
            let of_creator = count(
                t.query_one(
                    "SELECT COUNT(*) FROM meetings WHERE tenant = $1 AND creator = $2",
                    &[&tenant, &m.creator],
                )
                .await?,
            );
            if caps.reached(of_tenant, of_creator) {
                return Ok(MeetingInsert::OverCap);
            }
            let inserted = t
                .execute(
                    "INSERT INTO meetings (tenant, id, subject, pswd, creator, start_time)
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    &[
                        &tenant,
                        &m.id,
                        &m.subject,
                        &m.pswd,
                        &m.creator,
                        &m.start_time,
                    ],
                )
                .await?;
            t.commit().await?;
            Ok(if inserted == 1 {
                MeetingInsert::Inserted
            } else {
                MeetingInsert::IdTaken
            })
        })
        .await
    }

    pub async fn delete_meeting(
        &self,
        tenant: &str,
        id: i32,
        creator: &str,
    ) -> Result<bool, StoreError> {
        let c = self.client().await?;
        bounded(async {
            let n = c
                .execute(
                    "DELETE FROM meetings WHERE tenant = $1 AND id = $2 AND creator = $3",
                    &[&tenant, &id, &creator],
                )
                .await?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn meeting(&self, tenant: &str, id: i32) -> Result<Option<MeetingRow>, StoreError> {
        let c = self.client().await?;
        bounded(async {
            let row = c
                .query_opt(
                    "SELECT pswd, creator FROM meetings WHERE tenant = $1 AND id = $2",
                    &[&tenant, &id],
                )
                .await?;
            Ok(row.map(|r| MeetingRow {
                pswd: r.get(0),
                creator: r.get(1),
            }))
        })
        .await
    }

    pub async fn meetings(&self, tenant: &str, max: i64) -> Result<Vec<MeetInfo>, StoreError> {
        let c = self.client().await?;
        bounded(async {
            let rows = c
                .query(
                    "SELECT id, subject, pswd, creator, start_time FROM meetings
                         WHERE tenant = $1 ORDER BY start_time, id LIMIT $2",
                    &[&tenant, &max],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| MeetInfo {
                    id: r.get(0),
                    subject: r.get(1),
                    pswd: r.get(2),
                    creator: r.get(3),
                    start_time: r.get(4),
                    pub_meet_url: String::new(),
                    member_count: 0,
                })
                .collect())
        })
        .await
    }

    pub async fn known_users(&self) -> Result<Vec<(String, String)>, StoreError> {
        let c = self.client().await?;
        bounded(async {
            let rows = c
                .query("SELECT tenant, user_id FROM known_users", &[])
                .await?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
        .await
    }

    pub async fn remember_user(&self, tenant: &str, user: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        bounded(async {
            c.execute(
                "INSERT INTO known_users (tenant, user_id) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                &[&tenant, &user],
            )
            .await?;
            Ok(())
        })
        .await
    }

    pub async fn netdisk_files(&self, tenant: Option<&str>) -> Result<Vec<FileRecord>, StoreError> {
        let c = self.client().await?;
        bounded(async {
            let rows = c
                .query(
                    "SELECT tenant, key, file_id, file_type, owner_id, owner_name, name,
                                org_name, md5, size, ctime FROM netdisk_files
                         WHERE $1::TEXT IS NULL OR tenant = $1 ORDER BY seq",
                    &[&tenant],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| {
                    FileRecord::from_columns(
                        r.get(0),
                        r.get(1),
                        r.get(2),
                        r.get::<_, i16>(3) as u8,
                        [r.get(4), r.get(5), r.get(6), r.get(7), r.get(8)],
                        r.get(9),
                        r.get(10),
                    )
                })
                .collect())
        })
        .await
    }

    pub async fn insert_netdisk_file(&self, record: &FileRecord) -> Result<(), StoreError> {
        let c = self.client().await?;
        bounded(async {
            let o = &record.obj;
            c.execute(
                "INSERT INTO netdisk_files (tenant, key, file_id, file_type, owner_id,
                         owner_name, name, org_name, md5, size, ctime)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &record.tenant,
                    &record.key,
                    &o.file_id,
                    &i16::from(record.file_type),
                    &o.owner_id,
                    &o.owner_name,
                    &o.name,
                    &o.org_file_name,
                    &o.md5,
                    &o.size,
                    &o.ctime,
                ],
            )
            .await?;
            Ok(())
        })
        .await
    }

    pub async fn delete_netdisk_file(&self, tenant: &str, key: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        bounded(async {
            c.execute(
                "DELETE FROM netdisk_files WHERE tenant = $1 AND key = $2",
                &[&tenant, &key],
            )
            .await?;
            Ok(())
        })
        .await
    }
}

/// `work` within [`OP_TIMEOUT`]; a connection lost or a timeout is [`StoreError::Unavailable`].
async fn bounded<T>(
    work: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(OP_TIMEOUT, work).await {
        Ok(result) => result.map_err(failed),
        Err(_) => Err(StoreError::Unavailable),
    }
}

/// `host:port` of the first server `config` names (never its user or password).
fn describe_server(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

/// `e` and its causes on one line (deadpool's and tokio-postgres's errors keep the reason,
/// a refused connection, in their sources).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text.replace('\n', " ")
}
