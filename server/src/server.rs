//! A running server: the listener, the accept loop, the state sessions share, shutdown.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, error, info, warn};

use crate::calls::Calls;
use crate::config::{Config, TenantConfig};
use crate::directory::Directory;
use crate::link::{QueuedBytes, SessionId, TenantBudget};
use crate::meetings;
use crate::prelogin::PreLogin;
use crate::queues::Queues;
use crate::relay::Relay;
use crate::rooms::Rooms;
use crate::session;
use crate::store::{Store, StoreThread};
use crate::throttle::Concurrency;

/// Most argon2 password checks running at once.
const PASSWORD_CHECKS: usize = 2;

/// What every session of a server shares.
pub(crate) struct Shared {
    pub config: Config,
    /// Tenants by account.
    pub tenants: HashMap<String, TenantConfig>,
    pub directory: Arc<Directory>,
    /// Tenant passwords that passed the argon2 check (see `auth::VerifiedPasswords`).
    pub verified: crate::auth::VerifiedPasswords,
    pub calls: Calls,
    /// Call-center queues: customers, agents, assignments.
    pub queues: Arc<Queues>,
    /// Commands and transfers of the transparent channel.
    pub relay: Relay,
    /// Live meeting rooms: members, media status, IM.
    pub rooms: Rooms,
    /// Sessions that may be resumed after losing their connection.
    pub resumable: Arc<crate::resume::Resumable>,
    pub store: Store,
    /// With `tls_cert` / `tls_key`: every connection is TLS.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Delays login attempts after failures (see [`crate::throttle::LoginThrottle`]).
    pub login_throttle: crate::throttle::LoginThrottle,
    /// Login attempts checked at once, per source address and per tenant account.
    pub login_turns_by_address: Concurrency<IpAddr>,
    pub login_turns_by_account: Concurrency<String>,
    /// The connections not logged in yet (see [`crate::prelogin`]).
    pub prelogin: Arc<PreLogin>,
    /// Bounds concurrent argon2 checks (see [`Shared::verify_login`]).
    password_checks: tokio::sync::Semaphore,
    /// "tenant\0user" of every user that ever logged in (mirrors the store's table).
    known_users: Mutex<HashSet<String>>,
    /// Per tenant: the bytes its sessions may have queued (see [`crate::link`]).
    outbound_budgets: HashMap<String, Arc<TenantBudget>>,
    next_session_id: AtomicU64,
}

impl Shared {
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
                if let Err(e) = meetings::remember_user(&store, tenant, user).await {
                    tracing::warn!("could not record a known user: {e}");
                }
            });
        }
    }
}

/// A running server (see [`Server::start`]). Dropping it without [`Server::shutdown`] also
/// stops it, without waiting.
pub struct Server {
    pub(crate) shared: Arc<Shared>,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
    store_thread: Option<StoreThread>,
}

impl Server {
    /// Binds `config.listen` (port 0 picks a free port) and starts accepting connections.
    /// Returns once listening. Errors: the address cannot be bound, or the config is
    /// unusable (`InvalidInput`: duplicate tenant, zero heartbeat or frame size, bad limits,
    /// unusable TLS certificate or key).
    pub async fn start(config: Config) -> io::Result<Server> {
        let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
        if config.heartbeat_ms == 0 {
            return Err(invalid("heartbeat_ms must be greater than 0".into()));
        }
        if config.max_frame_bytes == 0 {
            return Err(invalid("max_frame_bytes must be greater than 0".into()));
        }
        if config.max_meeting_members == 0 {
            return Err(invalid("max_meeting_members must be greater than 0".into()));
        }
        config.limits.validate().map_err(invalid)?;
        let tls = match (&config.tls_cert, &config.tls_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(tokio_rustls::TlsAcceptor::from(
                crate::tls::load_server_config(cert, key).map_err(invalid)?,
            )),
            _ => return Err(invalid("give both tls_cert and tls_key, or neither".into())),
        };
        let mut tenants = HashMap::new();
        for tenant in &config.tenants {
            if tenants
                .insert(tenant.account.clone(), tenant.clone())
                .is_some()
            {
                return Err(invalid(format!("duplicate tenant {:?}", tenant.account)));
            }
        }

        let listener = listen(&config.listen).await?;
        let local_addr = listener.local_addr()?;
        let (store, store_thread) = Store::open(&config.data_dir).map_err(io::Error::other)?;
        let known = match meetings::known_users(&store).await {
            Ok(users) => users,
            Err(e) => {
                store.close();
                store_thread.join();
                return Err(io::Error::other(e.to_string()));
            }
        };
        let known_users = known.iter().map(|(t, u)| Shared::known_key(t, u)).collect();
        let directory = Arc::new(Directory::new());
        let outbound_budgets = tenants
            .keys()
            .map(|account| {
                let max = config.limits.max_tenant_outbound_bytes;
                (account.clone(), Arc::new(TenantBudget::new(max)))
            })
            .collect();
        let call_timeout = Duration::from_secs(config.call_timeout_secs);
        let queues = Queues::new(&config.tenants, directory.clone(), call_timeout);
        let shared = Arc::new(Shared {
            calls: Calls::new(call_timeout, queues.clone()),
            queues,
            relay: Relay::with_limits(&config.limits),
            rooms: Rooms::new(config.max_meeting_members),
            resumable: Arc::default(),
            tls,
            login_throttle: crate::throttle::LoginThrottle::new(
                Duration::from_millis(config.limits.login_backoff_base_ms),
                Duration::from_millis(config.limits.login_backoff_max_ms),
            ),
            login_turns_by_address: Concurrency::new(config.limits.login_concurrency_per_address),
            login_turns_by_account: Concurrency::new(config.limits.login_concurrency_per_account),
            prelogin: PreLogin::new(
                config.limits.max_prelogin_connections,
                config.limits.max_prelogin_per_address,
            ),
            config,
            tenants,
            directory,
            verified: Default::default(),
            store,
            password_checks: tokio::sync::Semaphore::new(PASSWORD_CHECKS),
            known_users: Mutex::new(known_users),
            outbound_budgets,
            next_session_id: AtomicU64::new(1),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(listener, shared.clone(), shutdown_rx));
        if shared.tls.is_some() {
            info!("TLS enabled: serving wss only");
        }
        info!("listening on {local_addr}");
        Ok(Server {
            shared,
            local_addr,
            shutdown,
            accept_task,
            store_thread: Some(store_thread),
        })
    }

    /// Connections accepted and not logged in yet.
    pub fn prelogin_connections(&self) -> usize {
        self.shared.prelogin.held()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Sorted IDs of the users of `tenant` with a live logged-in session.
    pub fn online_users(&self, tenant: &str) -> Vec<String> {
        self.shared.directory.online_users(tenant)
    }

    /// What the session of (tenant, user) has queued for sending: replies to its requests
    /// and pushed frames (events, relayed commands), in bytes. None if it is not online.
    pub fn queued_bytes(&self, tenant: &str, user: &str) -> Option<QueuedBytes> {
        let handle = self.shared.directory.get(tenant, user)?;
        Some(handle.queued_bytes())
    }

    /// Stops accepting, closes every session with a Close frame ("server shutting down") and
    /// waits for all session tasks to end.
    pub async fn shutdown(mut self) {
        info!("shutting down");
        let _ = self.shutdown.send(true);
        if let Err(e) = (&mut self.accept_task).await {
            error!("accept loop failed: {e}");
        }
        // Everything acknowledged is already committed; this waits for what is queued.
        self.shared.store.close();
        if let Some(thread) = self.store_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        info!("stopped");
    }
}

/// Pending connections the kernel may queue before accept. tokio's default (128) drops SYNs
/// when hundreds of clients connect at once (a reconnect storm after a restart); each
/// dropped client then waits a second to retry.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` (a `HOST:PORT`, the host possibly a name) with [`LISTEN_BACKLOG`].
async fn listen(addr: &str) -> io::Result<TcpListener> {
    let mut last_error = None;
    for candidate in tokio::net::lookup_host(addr).await? {
        let socket = if candidate.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket
            .bind(candidate)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
}

/// Completes once shutdown is requested (or the [`Server`] was dropped).
pub(crate) async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let mut sessions = JoinSet::new();
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            _ = shutdown_requested(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => match shared.prelogin.admit(peer.ip()) {
                    Ok(ticket) => {
                        let serve = session::serve(shared.clone(), tcp, peer, ticket, shutdown.clone());
                        sessions.spawn(serve);
                    }
                    // Closed at once: it would hold a descriptor without a login in sight.
                    Err(why) => debug!(%peer, "connection refused: {why:?} (connections not logged in)"),
                },
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(done) = sessions.join_next(), if !sessions.is_empty() => reap(done),
        }
    }
    drop(listener);
    while let Some(done) = sessions.join_next().await {
        reap(done);
    }
}

fn reap(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        if e.is_panic() {
            error!("session task panicked: {e}");
        }
    }
}
