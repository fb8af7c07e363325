//! The server's stop signal: a `watch` channel that turns `true` once, which the accept loop,
//! every session and every parked session wait on.

use tokio::sync::watch;

/// Completes once shutdown is requested (or the [`Server`](crate::Server) was dropped).
pub(crate) async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
