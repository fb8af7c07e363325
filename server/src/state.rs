//! What every session of a server shares: the configuration, the services (directory, calls,
//! queues, relay, rooms, the store) and the login bookkeeping (verified passwords, back-off,
//! turns, known users).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{Config, TenantConfig};
use crate::directory::local::LocalDirectory;
use crate::directory::outbound::{SessionId, TenantBudget};
use crate::directory::Directory;
use crate::services::calls::Calls;
use crate::services::netdisk::NetDisk;
use crate::services::queues::Queues;
use crate::services::relay::Relay;
use crate::services::rooms::Rooms;
use crate::store::Store;
use crate::throttle::Concurrency;

/// Most argon2 password checks running at once.
const PASSWORD_CHECKS: usize = 2;

/// What every session of a server shares.
pub(crate) struct Shared {
    pub config: Config,
    /// Tenants by account.
    pub tenants: HashMap<String, TenantConfig>,
    pub directory: Arc<dyn Directory>,
    /// Tenant passwords that passed the argon2 check (see `auth::VerifiedPasswords`).
    pub verified: crate::auth::VerifiedPasswords,
    pub calls: Calls,
    /// Call-center queues: customers, agents, assignments.
    pub queues: Arc<Queues>,
    /// Commands and transfers of the transparent channel.
    pub relay: Relay,
    /// Live meeting rooms: members, media status, IM.
    pub rooms: Rooms,
    pub store: Store,
    /// The tenants' net disks.
    pub netdisk: Arc<NetDisk>,
    /// With `tls_cert` / `tls_key`: every connection is TLS.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Delays login attempts after failures (see [`crate::throttle::LoginThrottle`]).
    pub login_throttle: crate::throttle::LoginThrottle,
    /// Login attempts checked at once, per source address and per tenant account.
    pub login_turns_by_address: Concurrency<IpAddr>,
    pub login_turns_by_account: Concurrency<String>,
    /// Bounds concurrent argon2 checks (see [`Shared::verify_login`]).
    password_checks: tokio::sync::Semaphore,
    /// "tenant\0user" of every user that ever logged in (mirrors the store's table).
    known_users: Mutex<HashSet<String>>,
    /// Per tenant: the bytes its sessions may have queued (see [`crate::directory::outbound`]).
    outbound_budgets: HashMap<String, Arc<TenantBudget>>,
    next_session_id: AtomicU64,
    /// Cluster mode: this node (None for a single node).
    pub cluster: Option<Arc<crate::cluster::Node>>,
}

impl Shared {
    /// The state of a server starting with `config`: `tenants` by account, `tls` for wss,
    /// the opened `store` and the users it knows.
    pub fn new(
        config: Config,
        tenants: HashMap<String, TenantConfig>,
        tls: Option<tokio_rustls::TlsAcceptor>,
        store: Store,
        known: Vec<(String, String)>,
        netdisk: Arc<NetDisk>,
        cluster: Option<Arc<crate::cluster::Node>>,
    ) -> Shared {
        let known_users = known.iter().map(|(t, u)| Shared::known_key(t, u)).collect();
        let directory: Arc<dyn Directory> = match &cluster {
            Some(node) => node.directory(),
            None => Arc::new(LocalDirectory::new()),
        };
        // In a cluster, a node's session and relay IDs carry its tag.
        let id_base = cluster.as_ref().map_or(0, |node| node.id_base());
        let outbound_budgets = tenants
            .keys()
            .map(|account| {
                let max = config.limits.max_tenant_outbound_bytes;
                (account.clone(), Arc::new(TenantBudget::new(max)))
            })
            .collect();
        let call_timeout = Duration::from_secs(config.call_timeout_secs);
        let queues = Queues::new(
            &config.tenants,
            directory.clone(),
            call_timeout,
            Duration::from_millis(config.queue_notify_ms),
        );
        Shared {
            calls: Calls::new(call_timeout, queues.clone()),
            queues,
            relay: Relay::with_limits(&config.limits, id_base),
            rooms: Rooms::new(config.max_meeting_members),
            tls,
            login_throttle: crate::throttle::LoginThrottle::new(
                Duration::from_millis(config.limits.login_backoff_base_ms),
                Duration::from_millis(config.limits.login_backoff_max_ms),
            ),
            login_turns_by_address: Concurrency::new(config.limits.login_concurrency_per_address),
            login_turns_by_account: Concurrency::new(config.limits.login_concurrency_per_account),
            config,
            tenants,
            directory,
            verified: Default::default(),
            store,
            netdisk,
            password_checks: tokio::sync::Semaphore::new(PASSWORD_CHECKS),
            known_users: Mutex::new(known_users),
            outbound_budgets,
            next_session_id: AtomicU64::new(id_base + 1),
            cluster,
        }
    }

    pub fn next_session_id(&self) -> SessionId {
        self.next_session_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The outbound budget of a configured tenant.
    pub fn outbound_budget(&self, tenant: &str) -> Option<Arc<TenantBudget>> {
        self.outbound_budgets.get(tenant).cloned()
    }

    fn known_key(tenant: &str, user: &str) -> String {
        format!("{tenant}\0{user}")
    }

    /// Checks a tenant password. A password that already passed is recognised at once;
    /// anything else pays argon2 on the blocking pool, at most [`PASSWORD_CHECKS`] at a time,
    /// so a burst of logins cannot take the memory of hundreds of argon2 runs (about 19 MiB
    /// each), and logins queued behind the first success find it cached.
    pub async fn verify_login(&self, tenant: &str, password: String, hash: Option<String>) -> bool {
        if hash.is_some() && self.verified.is_verified(tenant, &password) {
            return true;
        }
        let Ok(_permit) = self.password_checks.acquire().await else {
            return false;
        };
        if hash.is_some() && self.verified.is_verified(tenant, &password) {
            return true;
        }
        let known = hash.is_some();
        let checked = tokio::task::spawn_blocking(move || {
            let ok = match hash {
                Some(hash) => crate::auth::verify_password(&hash, &password),
                None => crate::auth::verify_against_dummy(&password),
            };
            (ok, password)
        })
        .await;
        match checked {
            Ok((true, password)) if known => {
                self.verified.remember(tenant, &password);
                true
            }
            Ok((ok, _)) => ok && known,
            Err(_) => false,
        }
    }

    /// Whether (tenant, user) ever logged in.
    pub fn is_known_user(&self, tenant: &str, user: &str) -> bool {
        self.known_users
            .lock()
            .unwrap()
            .contains(&Self::known_key(tenant, user))
    }

    /// Records a login of (tenant, user); the first one is also written to the store (in the
    /// background: a login does not wait for the disk).
    pub fn remember_user(&self, tenant: &str, user: &str) {
        let new = self
            .known_users
            .lock()
            .unwrap()
            .insert(Self::known_key(tenant, user));
        if new {
            let (store, tenant, user) = (self.store.clone(), tenant.to_owned(), user.to_owned());
            tokio::spawn(async move {
                if let Err(e) = store.remember_user(tenant, user).await {
                    tracing::warn!("could not record a known user: {e}");
                }
            });
        }
    }
}
