//! The server's configuration: defaults, the TOML file (see SERVER.md), validation.
//!
//! A tenant's clear-text `password` (the development form) is hashed while the file is
//! loaded and dropped at once; only the argon2id verifier is kept.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:2727";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./crvideo-data";
/// Default timeout of unanswered calls, invites and queue assignments.
pub const DEFAULT_CALL_TIMEOUT_SECS: u64 = 30;
/// Default `queue_notify_ms`.
pub const DEFAULT_QUEUE_NOTIFY_MS: u64 = 100;
/// Default heartbeat interval.
pub const DEFAULT_HEARTBEAT_MS: u64 = 5000;
/// Default longest time a session whose connection was lost is kept for its client to
/// resume it.
pub const DEFAULT_RESUME_WINDOW_MS: u64 = 30_000;
/// Default most members of one meeting room.
pub const DEFAULT_MAX_MEETING_MEMBERS: usize = 100;
/// Most `worker_threads` accepted (a typo like 10000 should not start 10,000 threads).
pub const MAX_WORKER_THREADS: usize = 1024;
/// Smallest accepted `max_frame_bytes` (the hello and login messages must fit).
pub const MIN_MAX_FRAME_BYTES: usize = 1024;

/// Shortest accepted `token_secret`, in bytes.
pub const MIN_TOKEN_SECRET_BYTES: usize = 16;
/// The prefix of a config string taken from the environment: `"env:NAME"`.
pub const ENV_PREFIX: &str = "env:";

/// The built-in development tenant served without a config file.
pub const DEMO_TENANT: &str = "demo";
const DEMO_PASSWORD: &str = "demo123";
/// A tenant's net-disk quota unless configured: 10 GiB.
pub const DEFAULT_NETDISK_QUOTA_BYTES: u64 = 10 << 30;

/// Everything the server needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST:PORT` to listen on; port 0 picks a free port.
    pub listen: String,
    /// Where durable state lives (not created by this version).
    pub data_dir: PathBuf,
    /// Unanswered calls / invites / queue assignments end after this; so does a queue
    /// agent's service when no call to the customer starts within it.
    pub call_timeout_secs: u64,
    /// Queue positions and counts are published at most once per this (0: at every
    /// change, which costs O(waiting customers) frames per queue transition).
    pub queue_notify_ms: u64,
    /// Both sides ping at this interval; a peer is dead after 3x this of silence.
    pub heartbeat_ms: u64,
    /// Largest WebSocket message / frame the server accepts.
    pub max_frame_bytes: usize,
    /// PEM certificate chain; with `tls_key`, the server serves wss (TLS) only.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Most members of one meeting room; one more gets `MEMBEROVERFLOWERROR`.
    pub max_meeting_members: usize,
    /// Longest time a session whose connection was lost is kept (online, in its rooms and
    /// calls) for its client to resume it on a new connection; 0 turns resuming off.
    /// Clients ask for their own window within this.
    pub resume_window_ms: u64,
    /// Threads running sessions in the `crvideo-server` binary; 0 = one per CPU (the
    /// default). Fewer threads mean fewer cross-thread wake-ups per relayed message (lower
    /// latency and CPU on a small machine shared with other work); more serve more clients
    /// at once. A program embedding the server library runs it on its own runtime.
    pub worker_threads: usize,
    /// Bytes each tenant may store on its net disk (listed files and resources, counting
    /// uploads in progress); default 10 GiB.
    pub netdisk_quota_bytes: u64,
    /// Abuse limits (the `[limits]` table).
    pub limits: Limits,
    pub tenants: Vec<TenantConfig>,
    /// Cluster mode (the `[cluster]` table): this node serves with the others on the same
    /// Redis. None: a single node, everything in this process.
    pub cluster: Option<ClusterConfig>,
    /// `postgres://…` (or `env:NAME`): the durable store in PostgreSQL, shared by the nodes
    /// of a cluster. None: SQLite under `data_dir`.
    pub database_url: Option<String>,
    /// The net disk's bodies in an S3-compatible bucket (the `[netdisk]` table). None:
    /// files under `data_dir/netdisk`.
    pub netdisk_s3: Option<crate::services::netdisk::s3::S3Config>,
}

/// The `[netdisk]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetDisk {
    s3_endpoint: String,
    s3_bucket: String,
    #[serde(default = "default_s3_region")]
    s3_region: String,
    s3_access_key: String,
    s3_secret_key: ClearPassword,
    #[serde(default = "default_s3_prefix")]
    s3_prefix: String,
}

fn default_s3_region() -> String {
    "us-east-1".into()
}

fn default_s3_prefix() -> String {
    "netdisk/".into()
}

impl RawNetDisk {
    fn into_config(self) -> Result<crate::services::netdisk::s3::S3Config, String> {
        let endpoint =
            from_env(&self.s3_endpoint, "netdisk.s3_endpoint")?.unwrap_or(self.s3_endpoint);
        let access_key =
            from_env(&self.s3_access_key, "netdisk.s3_access_key")?.unwrap_or(self.s3_access_key);
        let secret_key = from_env(&self.s3_secret_key.0, "netdisk.s3_secret_key")?
            .unwrap_or_else(|| self.s3_secret_key.0.clone());
        let config = crate::services::netdisk::s3::S3Config {
            endpoint,
            bucket: self.s3_bucket,
            region: self.s3_region,
            access_key,
            secret_key,
            prefix: self.s3_prefix,
        };
        crate::services::netdisk::s3::host_of(config.endpoint.trim_end_matches('/'))
            .map_err(|e| format!("netdisk.{e}"))?;
        let bucket_ok = (3..=63).contains(&config.bucket.len())
            && (config.bucket.bytes())
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err("netdisk.s3_bucket: 3 to 63 lowercase letters, digits, '-' or '.'".into());
        }
        if config.access_key.is_empty() || config.secret_key.is_empty() {
            return Err("netdisk: s3_access_key and s3_secret_key must not be empty".into());
        }
        Ok(config)
    }
}

/// The `[cluster]` table: how this node joins the others (see `crate::cluster`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// `redis://[:password@]host:port[/db]` (or `rediss://`, or `env:NAME`).
    pub redis_url: String,
    /// This node's name in the cluster, unique among live nodes; default: generated.
    pub node_id: String,
    /// The address other nodes and clients reach this node at; default: `listen`.
    pub advertise: String,
    /// Where this node listens for the other nodes' links; default: the host of
    /// `advertise`, any free port (published in Redis).
    pub link_listen: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    redis_url: String,
    node_id: Option<String>,
    advertise: Option<String>,
    link_listen: Option<String>,
}

impl RawCluster {
    fn into_config(self, listen: &str) -> Result<ClusterConfig, String> {
        let redis_url = from_env(&self.redis_url, "cluster.redis_url")?.unwrap_or(self.redis_url);
        if let Err(e) = redis::Client::open(redis_url.as_str()) {
            return Err(format!("cluster.redis_url: not a Redis URL ({e})"));
        }
        let node_id = match self.node_id {
            Some(id)
                if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                return Err("cluster.node_id: 1 to 64 printable characters without spaces".into())
            }
            Some(id) => id,
            None => generated_node_id(),
        };
        let advertise = self.advertise.unwrap_or_else(|| listen.to_owned());
        validate_listen_addr(&advertise).map_err(|p| format!("cluster.advertise: {p}"))?;
        if let Some(link_listen) = &self.link_listen {
            validate_listen_addr(link_listen).map_err(|p| format!("cluster.link_listen: {p}"))?;
        }
        Ok(ClusterConfig {
            redis_url,
            node_id,
            advertise,
            link_listen: self.link_listen,
        })
    }
}

/// A node ID for a node that names none: `node-` and 12 random hex digits.
pub fn generated_node_id() -> String {
    let mut bytes = [0u8; 6];
    getrandom::getrandom(&mut bytes).expect("the system's random source");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("node-{hex}")
}

/// Abuse limits, the `[limits]` table of the config file. Every key is optional; the
/// defaults are safe for production.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Deepest nesting of arrays / objects in a text frame (the frame itself is depth 1);
    /// deeper closes the session like a malformed frame.
    pub max_json_depth: usize,
    /// Longest `usr_ext_dat` of a call, call answer or queue entry, in bytes (PARAM_ERR).
    pub max_usr_ext_dat_bytes: usize,
    /// Longest `meet_obj` of a call, call answer or invitation, in bytes (PARAM_ERR).
    pub max_meet_obj_bytes: usize,
    /// Delay before checking a login from a source address after its first failure; it
    /// doubles with each further failure (of that address, or, once the address has failed
    /// too, of that tenant account)...
    pub login_backoff_base_ms: u64,
    /// ...up to this.
    pub login_backoff_max_ms: u64,
    /// Login attempts from one source address checked at once; more wait their turn (and
    /// their back-off is reckoned when it comes).
    pub login_concurrency_per_address: usize,
    /// Login attempts for one tenant account checked at once, over all addresses.
    pub login_concurrency_per_account: usize,
    /// Time a connection has from its WebSocket upgrade to a successful login; then it is
    /// closed (1008 "login timeout").
    pub login_timeout_ms: u64,
    /// Connections not logged in yet, over all addresses. When all are taken, the oldest that
    /// has not asked to log in is closed for a new one.
    pub max_prelogin_connections: usize,
    /// Connections not logged in yet from one source address; more are closed at once.
    pub max_prelogin_per_address: usize,
    /// Meetings one user may have created and not destroyed; CreateMeeting beyond gets
    /// OUTOF_MEM.
    pub max_meetings_per_user: usize,
    /// Meetings a tenant may have; CreateMeeting beyond gets OUTOF_MEM. GetMeetings lists at
    /// most this many.
    pub max_meetings_per_tenant: usize,
    /// Requests (text frames with an id) a session may send per second, on average...
    pub requests_per_sec: u32,
    /// ...and in a burst. Beyond: reply TOO_FREQUENT.
    pub request_burst: u32,
    /// Commands (`SendCmd`) a session may send per second, on average...
    pub cmds_per_sec: u32,
    /// ...and in a burst. Beyond: reply TOO_FREQUENT.
    pub cmd_burst: u32,
    /// Transfers a user may be sending at once; an offer beyond gets TOO_FREQUENT.
    pub max_transfers_per_user: usize,
    /// Commands (`SendCmd`) a session may have relayed and not yet acknowledged by their
    /// targets; a command beyond gets TOO_FREQUENT.
    pub max_cmds_in_flight: usize,
    /// Bytes of events and relayed commands one session may have queued for sending; over
    /// it the client is not reading and its session ends.
    pub max_outbound_bytes: usize,
    /// Bytes of events and relayed commands the sessions of one tenant may have queued
    /// together; over it, a session holding more than 1 MiB of them is ended.
    pub max_tenant_outbound_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_json_depth: 32,
            max_usr_ext_dat_bytes: 4096,
            max_meet_obj_bytes: 4096,
            login_backoff_base_ms: 200,
            login_backoff_max_ms: 5000,
            login_concurrency_per_address: 2,
            login_concurrency_per_account: 8,
            login_timeout_ms: 10_000,
            max_prelogin_connections: 1024,
            max_prelogin_per_address: 64,
            max_meetings_per_user: 1000,
            max_meetings_per_tenant: 10_000,
            requests_per_sec: 200,
            request_burst: 400,
            cmds_per_sec: 100,
            cmd_burst: 200,
            max_transfers_per_user: 16,
            max_cmds_in_flight: 256,
            max_outbound_bytes: 8 << 20,
            max_tenant_outbound_bytes: 256 << 20,
        }
    }
}

impl Limits {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("max_json_depth", self.max_json_depth as u64),
            ("requests_per_sec", self.requests_per_sec as u64),
            ("request_burst", self.request_burst as u64),
            ("cmds_per_sec", self.cmds_per_sec as u64),
            ("cmd_burst", self.cmd_burst as u64),
            ("max_transfers_per_user", self.max_transfers_per_user as u64),
            ("max_cmds_in_flight", self.max_cmds_in_flight as u64),
            (
                "login_concurrency_per_address",
                self.login_concurrency_per_address as u64,
            ),
            (
                "login_concurrency_per_account",
                self.login_concurrency_per_account as u64,
            ),
            ("login_timeout_ms", self.login_timeout_ms),
            (
                "max_prelogin_connections",
                self.max_prelogin_connections as u64,
            ),
            (
                "max_prelogin_per_address",
                self.max_prelogin_per_address as u64,
            ),
            ("max_meetings_per_user", self.max_meetings_per_user as u64),
            (
                "max_meetings_per_tenant",
                self.max_meetings_per_tenant as u64,
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(format!("limits.{key} must be greater than 0"));
            }
        }
        // Room for the largest command (and the bound on replies is what the read loop holds).
        let least = crvideo_proto::MAX_CMD_BYTES * 4;
        if self.max_outbound_bytes < least {
            return Err(format!(
                "limits.max_outbound_bytes must be at least {least}"
            ));
        }
        if self.max_tenant_outbound_bytes < self.max_outbound_bytes {
            return Err(
                "limits.max_tenant_outbound_bytes must not be less than max_outbound_bytes".into(),
            );
        }
        if self.login_backoff_max_ms < self.login_backoff_base_ms {
            return Err(
                "limits.login_backoff_max_ms must not be less than login_backoff_base_ms".into(),
            );
        }
        Ok(())
    }
}

impl Default for Config {
    /// The defaults, without any tenant.
    fn default() -> Config {
        Config {
            listen: DEFAULT_LISTEN.into(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            call_timeout_secs: DEFAULT_CALL_TIMEOUT_SECS,
            queue_notify_ms: DEFAULT_QUEUE_NOTIFY_MS,
            heartbeat_ms: DEFAULT_HEARTBEAT_MS,
            max_frame_bytes: crvideo_proto::DEFAULT_MAX_FRAME_BYTES,
            tls_cert: None,
            tls_key: None,
            max_meeting_members: DEFAULT_MAX_MEETING_MEMBERS,
            resume_window_ms: DEFAULT_RESUME_WINDOW_MS,
            worker_threads: 0,
            netdisk_quota_bytes: DEFAULT_NETDISK_QUOTA_BYTES,
            limits: Limits::default(),
            tenants: Vec::new(),
            cluster: None,
            database_url: None,
            netdisk_s3: None,
        }
    }
}

/// One tenant (an enterprise / app account). Holds a password verifier, never the password,
/// and, if its users must present tokens, the secret tokens are signed with.
#[derive(Clone)]
pub struct TenantConfig {
    pub account: String,
    password_hash: String,
    token_secret: Option<String>,
    pub queues: Vec<QueueConfig>,
}

impl TenantConfig {
    /// A tenant whose password is `password` (hashed here; the clear text is not kept).
    pub fn with_password(account: &str, password: &str) -> TenantConfig {
        TenantConfig {
            account: account.into(),
            password_hash: auth::hash_password(password),
            token_secret: None,
            queues: Vec::new(),
        }
    }

    /// A tenant with an already hashed password (an argon2 PHC string as `hash-password`
    /// prints it). The error describes what is wrong with the string.
    pub fn with_password_hash(account: &str, hash: &str) -> Result<TenantConfig, String> {
        auth::check_hash(hash)?;
        Ok(TenantConfig {
            account: account.into(),
            password_hash: hash.into(),
            token_secret: None,
            queues: Vec::new(),
        })
    }

    /// Requires every login of this tenant to carry a token signed with `secret` (see
    /// [`crate::auth::mint_token`]) in `auth_code`.
    pub fn with_token_secret(mut self, secret: &str) -> TenantConfig {
        self.token_secret = Some(secret.to_owned());
        self
    }

    /// The secret of the tenant's user tokens, if it requires them.
    pub fn token_secret(&self) -> Option<&str> {
        self.token_secret.as_deref()
    }

    /// The argon2 PHC string the password is checked against.
    pub fn password_hash(&self) -> &str {
        &self.password_hash
    }

    /// True if `password` is this tenant's password (slow: argon2).
    pub fn verify_password(&self, password: &str) -> bool {
        auth::verify_password(&self.password_hash, password)
    }
}

impl fmt::Debug for TenantConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantConfig")
            .field("account", &self.account)
            .field("password_hash", &"<redacted>")
            .field(
                "token_secret",
                &self.token_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("queues", &self.queues)
            .finish()
    }
}

/// A service queue of a tenant (see [`crate::services::queues`]). Queues are processed in `prio`
/// order (lower first), then by `id`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub id: i32,
    pub name: String,
    #[serde(default)]
    pub desc: String,
    #[serde(default)]
    pub prio: i32,
}

/// A configuration that cannot be used. Displays as one line:
/// `config /etc/crvideo.toml: duplicate tenant "acme"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    origin: String,
    problem: String,
}

impl ConfigError {
    pub fn new(origin: impl Into<String>, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            origin: origin.into(),
            problem: problem.into(),
        }
    }

    /// Where the configuration came from (a file path, or e.g. `--listen`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// What is wrong, without the origin.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config {}: {}", self.origin, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads and validates a TOML config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(&origin, format!("cannot read: {e}")))?;
        Config::from_toml_str(&text, &origin)
    }

    /// Parses and validates TOML text; `origin` names it in errors (usually the file path).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let err = |problem: String| ConfigError::new(origin, problem);
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| err(describe_toml_error(&e, text)))?;

        let defaults = Config::default();
        let listen = raw.listen.unwrap_or(defaults.listen);
        validate_listen_addr(&listen).map_err(|p| err(format!("listen: {p}")))?;
        let heartbeat_ms = raw.heartbeat_ms.unwrap_or(defaults.heartbeat_ms);
        if heartbeat_ms == 0 {
            return Err(err("heartbeat_ms must be greater than 0".into()));
        }
        let max_frame_bytes = raw.max_frame_bytes.unwrap_or(defaults.max_frame_bytes);
        if max_frame_bytes < MIN_MAX_FRAME_BYTES {
            return Err(err(format!(
                "max_frame_bytes must be at least {MIN_MAX_FRAME_BYTES}"
            )));
        }

        let (tls_cert, tls_key) = match (raw.tls_cert, raw.tls_key) {
            (None, None) => (None, None),
            (Some(cert), Some(key)) => {
                // Loaded now so that a bad file is a config error (exit 2), not a failure
                // to start; the server loads them again when it starts.
                crate::tls::load_server_config(&cert, &key).map_err(err)?;
                (Some(cert), Some(key))
            }
            _ => return Err(err("give both tls_cert and tls_key, or neither".into())),
        };
        let limits = raw.limits;
        limits.validate().map_err(err)?;
        let max_meeting_members = raw
            .max_meeting_members
            .unwrap_or(defaults.max_meeting_members);
        if max_meeting_members == 0 {
            return Err(err("max_meeting_members must be greater than 0".into()));
        }
        let worker_threads = raw.worker_threads.unwrap_or(defaults.worker_threads);
        if worker_threads > MAX_WORKER_THREADS {
            return Err(err(format!(
                "worker_threads must be at most {MAX_WORKER_THREADS} (0: one per CPU)"
            )));
        }

        let mut seen = HashSet::new();
        let mut tenants = Vec::with_capacity(raw.tenants.len());
        for mut t in raw.tenants {
            if t.account.is_empty() {
                return Err(err("tenant with an empty account".into()));
            }
            if !seen.insert(t.account.clone()) {
                return Err(err(format!("duplicate tenant {:?}", t.account)));
            }
            let account = t.account.clone();
            let tenant_err = |p: &str| err(format!("tenant {account:?}: {p}"));
            if let Some(clear) = &mut t.password {
                if let Some(value) = from_env(&clear.0, "password").map_err(|p| tenant_err(&p))? {
                    *clear = ClearPassword(value);
                }
            }
            if let Some(hash) = &mut t.password_hash {
                if let Some(value) = from_env(hash, "password_hash").map_err(|p| tenant_err(&p))? {
                    *hash = value;
                }
            }
            let token_secret = match t.token_secret.take() {
                None => None,
                Some(secret) => {
                    let secret =
                        match from_env(&secret.0, "token_secret").map_err(|p| tenant_err(&p))? {
                            Some(value) => ClearPassword(value),
                            None => secret,
                        };
                    if secret.0.len() < MIN_TOKEN_SECRET_BYTES {
                        return Err(tenant_err(&format!(
                            "token_secret shorter than {MIN_TOKEN_SECRET_BYTES} bytes"
                        )));
                    }
                    Some(secret)
                }
            };
            let mut tenant = match (t.password.take(), t.password_hash.take()) {
                (Some(_), Some(_)) => {
                    return Err(tenant_err(
                        "give either password or password_hash, not both",
                    ))
                }
                (None, None) => return Err(tenant_err("missing password or password_hash")),
                (Some(clear), None) => {
                    if clear.0.is_empty() {
                        return Err(tenant_err("empty password"));
                    }
                    TenantConfig::with_password(&t.account, &clear.0)
                    // `clear` is dropped (and wiped) here.
                }
                (None, Some(hash)) => TenantConfig::with_password_hash(&t.account, &hash)
                    .map_err(|p| tenant_err(&format!("bad password_hash: {p}")))?,
            };
            let mut queue_ids = HashSet::new();
            for q in &t.queues {
                if !queue_ids.insert(q.id) {
                    return Err(tenant_err(&format!("duplicate queue id {}", q.id)));
                }
            }
            tenant.queues = std::mem::take(&mut t.queues);
            if let Some(secret) = &token_secret {
                tenant = tenant.with_token_secret(&secret.0);
            }
            tenants.push(tenant);
        }

        let cluster = match raw.cluster {
            Some(cluster) => Some(cluster.into_config(&listen).map_err(err)?),
            None => None,
        };
        let netdisk_s3 = match raw.netdisk {
            Some(netdisk) => Some(netdisk.into_config().map_err(err)?),
            None => None,
        };
        let database_url = match raw.database_url {
            Some(url) => {
                let url = from_env(&url, "database_url").map_err(err)?.unwrap_or(url);
                crate::store::check_database_url(&url)
                    .map_err(|e| err(format!("database_url: {e}")))?;
                Some(url)
            }
            None => None,
        };
        if cluster.is_some() && netdisk_s3.is_some() && database_url.is_none() {
            // Each node's own rows over one bucket: each would take the others' files for
            // orphans.
            return Err(err(
                "netdisk: bodies in S3 in a cluster need database_url (their rows must be \
                 shared too)"
                    .into(),
            ));
        }
        // Only once the file is known good, so a bad file yields exactly one line.
        warn_unknown_keys(text, origin);
        Ok(Config {
            listen,
            data_dir: raw.data_dir.unwrap_or(defaults.data_dir),
            call_timeout_secs: raw.call_timeout_secs.unwrap_or(defaults.call_timeout_secs),
            queue_notify_ms: raw.queue_notify_ms.unwrap_or(defaults.queue_notify_ms),
            heartbeat_ms,
            max_frame_bytes,
            tls_cert,
            tls_key,
            max_meeting_members,
            resume_window_ms: raw.resume_window_ms.unwrap_or(defaults.resume_window_ms),
            worker_threads,
            netdisk_quota_bytes: raw
                .netdisk_quota_bytes
                .unwrap_or(defaults.netdisk_quota_bytes),
            limits,
            tenants,
            cluster,
            database_url,
            netdisk_s3,
        })
    }

    /// The defaults plus the built-in development tenant `demo` / `demo123`.
    pub fn with_demo_tenant() -> Config {
        Config {
            tenants: vec![TenantConfig::with_password(DEMO_TENANT, DEMO_PASSWORD)],
            ..Config::default()
        }
    }
}

/// Checks a `HOST:PORT` listen address: an IP socket address (`[::1]:80` for IPv6) or a
/// host name and a port.
pub fn validate_listen_addr(addr: &str) -> Result<(), String> {
    if addr.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let bad = || format!("bad address {addr:?} (expected HOST:PORT)");
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    port.parse::<u16>().map_err(|_| bad())?;
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if host_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// `Some(value of NAME)` if `value` is `"env:NAME"`, `None` if it is a literal. The error
/// names the variable and `key`, never a value.
fn from_env(value: &str, key: &str) -> Result<Option<String>, String> {
    let Some(name) = value.strip_prefix(ENV_PREFIX) else {
        return Ok(None);
    };
    match std::env::var(name) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => {
            Err(format!("{key}: environment variable {name:?} is not set"))
        }
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "{key}: environment variable {name:?} is not valid UTF-8"
        )),
    }
}

/// A clear-text password (or token secret) on its way to the hasher. Wiped when dropped; no
/// Debug output.
struct ClearPassword(String);

impl<'de> Deserialize<'de> for ClearPassword {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(ClearPassword)
    }
}

impl Drop for ClearPassword {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        for b in bytes.iter_mut() {
            // Volatile so the wipe is not optimised away before the buffer is freed.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

#[derive(Deserialize)]
struct RawConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    call_timeout_secs: Option<u64>,
    queue_notify_ms: Option<u64>,
    heartbeat_ms: Option<u64>,
    max_frame_bytes: Option<usize>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    max_meeting_members: Option<usize>,
    resume_window_ms: Option<u64>,
    worker_threads: Option<usize>,
    netdisk_quota_bytes: Option<u64>,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    tenants: Vec<RawTenant>,
    cluster: Option<RawCluster>,
    database_url: Option<String>,
    netdisk: Option<RawNetDisk>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    account: String,
    password: Option<ClearPassword>,
    password_hash: Option<String>,
    token_secret: Option<ClearPassword>,
    #[serde(default)]
    queues: Vec<QueueConfig>,
}

const KNOWN_TOP_LEVEL_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "call_timeout_secs",
    "queue_notify_ms",
    "heartbeat_ms",
    "max_frame_bytes",
    "tls_cert",
    "tls_key",
    "max_meeting_members",
    "resume_window_ms",
    "worker_threads",
    "netdisk_quota_bytes",
    "limits",
    "tenants",
    "cluster",
    "database_url",
    "netdisk",
];

/// Unknown top-level keys are tolerated (a newer config on an older server) but logged.
fn warn_unknown_keys(text: &str, origin: &str) {
    if let Ok(table) = text.parse::<toml::Table>() {
        for key in table.keys() {
            if !KNOWN_TOP_LEVEL_KEYS.contains(&key.as_str()) {
                tracing::warn!("config {origin}: ignoring unknown key {key:?}");
            }
        }
    }
}

/// One line from a toml error: `line 3: invalid type: ...` (toml's own Display is a
/// multi-line snippet that may quote the offending line, which could hold a password).
fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP_HASH: &str =
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$F8bBQbTgL5fO3QK0XHaH8G3TAO/bdx5JpDaweDAe4I0";

    #[test]
    fn listen_addresses() {
        for ok in [
            "127.0.0.1:2727",
            "0.0.0.0:0",
            "[::1]:80",
            "localhost:2727",
            "srv-1.example.com:443",
        ] {
            validate_listen_addr(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "2727",
            "127.0.0.1",
            "127.0.0.1:99999",
            ":2727",
            "host:port",
            "a b:1",
        ] {
            assert!(validate_listen_addr(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let config = Config::from_toml_str(
            "[[tenants]]\naccount = \"acme\"\npassword = \"hunter2-very-secret\"\n",
            "t.toml",
        )
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("argon2"), "{debug}");
        assert!(debug.contains("acme"));
        assert!(config.tenants[0].verify_password("hunter2-very-secret"));
    }

    #[test]
    fn toml_errors_are_one_line_and_do_not_quote_the_file() {
        let text = "[[tenants]]\naccount = \"acme\"\npassword = \"topsecret\" junk\n";
        let e = Config::from_toml_str(text, "x.toml").unwrap_err();
        let shown = e.to_string();
        assert!(!shown.contains('\n'), "{shown}");
        assert!(!shown.contains("topsecret"), "{shown}");
        assert!(shown.starts_with("config x.toml: line 3"), "{shown}");
    }

    #[test]
    fn netdisk_s3_table() {
        let tenant = format!("[[tenants]]\naccount = \"a\"\npassword_hash = \"{CHEAP_HASH}\"\n");
        let table = |extra: &str| {
            format!(
                "{tenant}[netdisk]\ns3_endpoint = \"http://127.0.0.1:8333\"\n\
                 s3_bucket = \"crv\"\ns3_access_key = \"a\"\ns3_secret_key = \"s\"\n{extra}"
            )
        };
        let config = Config::from_toml_str(&table(""), "t").unwrap();
        let s3 = config.netdisk_s3.unwrap();
        assert_eq!(
            (s3.region.as_str(), s3.prefix.as_str()),
            ("us-east-1", "netdisk/")
        );
        let bad = |text: &str| Config::from_toml_str(text, "t").unwrap_err().to_string();
        assert!(bad(&table("s3_prefix = 1\n")).contains("line"));
        let wrong_endpoint = table("").replace("http://127.0.0.1:8333", "ftp://x");
        assert!(bad(&wrong_endpoint).contains("s3_endpoint"));
        let wrong_bucket = table("").replace("\"crv\"", "\"Crv_1\"");
        assert!(bad(&wrong_bucket).contains("s3_bucket"));
        // In a cluster, bodies in one bucket need their rows in one database.
        let clustered = format!(
            "{}[cluster]\nredis_url = \"redis://127.0.0.1:1\"\n",
            table("")
        );
        assert!(bad(&clustered).contains("database_url"));
        let with_db = format!("database_url = \"postgres://x@127.0.0.1/x\"\n{clustered}");
        assert!(Config::from_toml_str(&with_db, "t").is_ok());
    }

    #[test]
    fn netdisk_quota_key() {
        let tenant = format!("[[tenants]]\naccount = \"a\"\npassword_hash = \"{CHEAP_HASH}\"\n");
        let config = Config::from_toml_str(&tenant, "t").unwrap();
        assert_eq!(config.netdisk_quota_bytes, 10 << 30);
        let text = format!("netdisk_quota_bytes = 1048576\n{tenant}");
        let config = Config::from_toml_str(&text, "t").unwrap();
        assert_eq!(config.netdisk_quota_bytes, 1 << 20);
        let text = format!("netdisk_quota_bytes = -1\n{tenant}");
        assert!(Config::from_toml_str(&text, "t").is_err());
    }

    #[test]
    fn max_meeting_members_key() {
        let tenant = format!("[[tenants]]\naccount = \"a\"\npassword_hash = \"{CHEAP_HASH}\"\n");
        let config = Config::from_toml_str(&tenant, "t").unwrap();
        assert_eq!(config.max_meeting_members, DEFAULT_MAX_MEETING_MEMBERS);
        let text = format!("max_meeting_members = 2\n{tenant}");
        assert_eq!(
            Config::from_toml_str(&text, "t")
                .unwrap()
                .max_meeting_members,
            2
        );
        let text = format!("max_meeting_members = 0\n{tenant}");
        let e = Config::from_toml_str(&text, "t").unwrap_err();
        assert!(e.problem().contains("max_meeting_members"), "{e}");
    }

    #[test]
    fn hashed_password_form() {
        let text = format!("[[tenants]]\naccount = \"a\"\npassword_hash = \"{CHEAP_HASH}\"\n");
        let config = Config::from_toml_str(&text, "t").unwrap();
        assert_eq!(config.tenants[0].password_hash(), CHEAP_HASH);
        assert!(config.tenants[0].verify_password("pw"));
    }
}
