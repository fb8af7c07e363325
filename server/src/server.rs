//! A running server: the listener, the accept loop, shutdown.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, error, info, warn};

use crate::config::Config;
use crate::directory::outbound::QueuedBytes;
use crate::services::netdisk::s3::S3Storage;
use crate::services::netdisk::storage::{LocalStorage, Storage};
use crate::services::netdisk::NetDisk;
use crate::session::prelogin::PreLogin;
use crate::session::resumable::Resumable;
use crate::session::{self, Session};
use crate::shutdown::shutdown_requested;
use crate::state::Shared;
use crate::store::{Store, StoreThread};

/// A running server (see [`Server::start`]). Dropping it without [`Server::shutdown`] also
/// stops it, without waiting.
pub struct Server {
    pub(crate) shared: Arc<Shared>,
    /// The connections not logged in yet.
    prelogin: Arc<PreLogin>,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
    /// Cluster mode: the node's inbox, directory events and heartbeat.
    cluster_task: Option<JoinHandle<()>>,
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

        // Bound first, as before cluster mode: a taken port fails before anything is made on
        // disk or joined.
        let listener = listen(&config.listen).await.map_err(|e| {
            io::Error::new(e.kind(), format!("cannot listen on {}: {e}", config.listen))
        })?;
        // Then the durable store: an unreachable database fails before Redis is joined.
        let netdisk_shared = config.netdisk_s3.is_some();
        let (store, store_thread) = Store::open(
            &config.data_dir,
            config.database_url.as_deref(),
            netdisk_shared,
        )
        .await?;
        let opened = async {
            // The bucket, when the net disk's bodies are in one.
            let storage = open_storage(&config).await?;
            // Cluster mode: Redis next, so a bad URL fails before anything is served.
            let cluster = match &config.cluster {
                Some(cluster) => {
                    let heartbeat = Duration::from_millis(config.heartbeat_ms);
                    let node = crate::cluster::Node::join(cluster, heartbeat).await;
                    Some(node.map_err(|e| io::Error::new(io::ErrorKind::NotConnected, e))?)
                }
                None => None,
            };
            let known = store.known_users().await.map_err(io::Error::other)?;
            let netdisk = NetDisk::open(config.netdisk_quota_bytes, storage, store.clone())
                .await
                .map_err(io::Error::other)?;
            Ok::<_, io::Error>((cluster, known, netdisk))
        };
        let (cluster, known, netdisk) = match opened.await {
            Ok(opened) => opened,
            Err(e) => {
                store.close();
                store_thread.join();
                return Err(e);
            }
        };
        let local_addr = listener.local_addr()?;
        let prelogin = PreLogin::new(
            config.limits.max_prelogin_connections,
            config.limits.max_prelogin_per_address,
        );
        let shared = Arc::new(Shared::new(
            config,
            tenants,
            tls,
            store,
            known,
            netdisk,
            cluster.clone(),
        ));
        if let Some(node) = &cluster {
            shared
                .queues
                .set_remote(Arc::new(crate::cluster::NodeEngine(node.clone())));
            shared
                .rooms
                .observe(Arc::new(crate::cluster::NodeRooms(node.clone())));
        }
        if let (Some(node), true) = (&cluster, netdisk_shared) {
            let node = node.clone();
            shared
                .netdisk
                .on_change(move |tenant| node.netdisk_changed(tenant));
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let cluster_task =
            cluster.map(|node| tokio::spawn(node.run(shared.clone(), shutdown_rx.clone())));
        let accept_task = tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            prelogin.clone(),
            shutdown_rx,
        ));
        if shared.tls.is_some() {
            info!("TLS enabled: serving wss only");
        }
        info!("listening on {local_addr}");
        Ok(Server {
            shared,
            prelogin,
            local_addr,
            shutdown,
            accept_task,
            cluster_task,
            store_thread: Some(store_thread),
        })
    }

    /// Connections accepted and not logged in yet.
    pub fn prelogin_connections(&self) -> usize {
        self.prelogin.held()
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
        // After the sessions: their offline events are published before the node leaves.
        if let Some(task) = self.cluster_task.take() {
            let _ = task.await;
        }
        // Everything acknowledged is already committed; this waits for what is queued.
        self.shared.store.close();
        if let Some(thread) = self.store_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        info!("stopped");
    }
}

/// The net disk's storage: files under `data_dir/netdisk`, or a bucket (whose partial uploads
/// are files there). A bucket that does not answer is `NotConnected` (exit 2).
async fn open_storage(config: &Config) -> io::Result<Arc<dyn Storage>> {
    let local = LocalStorage::open(config.data_dir.join("netdisk"))
        .map_err(|e| io::Error::other(format!("cannot open the net disk's storage: {e}")))?;
    let Some(s3) = config.netdisk_s3.clone() else {
        return Ok(Arc::new(local));
    };
    let opened = tokio::task::spawn_blocking(move || S3Storage::open(&s3, local))
        .await
        .map_err(io::Error::other)?;
    match opened {
        Ok(storage) => Ok(Arc::new(storage)),
        Err(e) => Err(io::Error::new(
            io::ErrorKind::NotConnected,
            format!("netdisk: {e}"),
        )),
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

/// Accepts connections until shutdown, each admitted among those not logged in (`prelogin`)
/// and served by a session task; then waits for every session task to end.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    prelogin: Arc<PreLogin>,
    shutdown: watch::Receiver<bool>,
) {
    // Shared by the sessions: one parked there outlives its connection until resumed.
    let resumable = Arc::new(Resumable::<Session>::default());
    let mut sessions = JoinSet::new();
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            _ = shutdown_requested(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => match prelogin.admit(peer.ip()) {
                    Ok(ticket) => {
                        let serve = session::connection::serve(shared.clone(), resumable.clone(), tcp, peer, ticket, shutdown.clone());
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
