//! What the server logs must never hold a password, token or secret. Our own log lines never
//! do; some dependencies, though, log every WebSocket message at trace level (tungstenite:
//! "Received message {...}", login requests included). [`no_payloads`] drops those, whatever
//! `RUST_LOG` asks for: install it with every subscriber (the binary does).

use tracing::{Level, Metadata};
use tracing_subscriber::filter::FilterFn;

/// Targets (and their submodules) limited to debug level: below it they log payloads.
pub const PAYLOAD_LOGGING_TARGETS: &[&str] = &["tungstenite", "tokio_tungstenite", "rustls"];

fn allowed(meta: &Metadata<'_>) -> bool {
    if *meta.level() <= Level::DEBUG {
        return true;
    }
    let target = meta.target();
    !PAYLOAD_LOGGING_TARGETS.iter().any(|t| {
        target
            .strip_prefix(t)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// A filter layer that drops the trace-level events of [`PAYLOAD_LOGGING_TARGETS`].
pub fn no_payloads() -> FilterFn<fn(&Metadata<'_>) -> bool> {
    FilterFn::new(allowed as fn(&Metadata<'_>) -> bool)
}
