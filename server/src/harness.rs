//! A test harness, not part of serving: [`BackgroundServer`] runs a [`Server`] on its own
//! tokio runtime in a background thread, for synchronous code (the SDK's tests start one per
//! test). The `crvideo-server` command never uses it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::config::Config;
use crate::server::Server;
use crate::state::Shared;

/// Test harness: a server running on its own runtime in a background thread. Stopped
/// (cleanly) by [`BackgroundServer::stop`] or when dropped.
pub struct BackgroundServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl BackgroundServer {
    /// Starts the server; returns once it is listening.
    pub fn start(config: Config) -> io::Result<BackgroundServer> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name("crvideo-server".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("crvideo-server-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match Server::start(config).await {
                        Ok(server) => {
                            let _ = ready_tx.send(Ok((server.local_addr(), server.shared.clone())));
                            // Stop when asked, or when the handle is gone.
                            let _ = stop_rx.await;
                            server.shutdown().await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        match ready_rx.recv() {
            Ok(Ok((addr, shared))) => Ok(BackgroundServer {
                addr,
                shared,
                stop: Some(stop_tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(io::Error::other("the server thread ended before listening"))
            }
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sorted IDs of the users of `tenant` with a live logged-in session.
    pub fn online_users(&self, tenant: &str) -> Vec<String> {
        self.shared.directory.online_users(tenant)
    }

    /// Shuts the server down cleanly and joins its thread.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}
