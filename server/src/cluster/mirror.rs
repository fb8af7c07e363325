//! Mirrors: a session of another node as this node's services see it.
//!
//! A mirror is an ordinary [`SessionLink`] with the remote session's ID, so every service
//! sends to a user on another node exactly as to one here. Its lanes are drained by a pump
//! task instead of a WebSocket writer: each frame goes, with the lane it was queued in, to
//! the inbox of the node that holds the connection, which queues it in the same lane of
//! the real session (bounds and all, see [`crate::directory::outbound`]). A stop (a kick)
//! follows the frames queued before it and ends the real session. The pump ends when the
//! last handle of the mirror is dropped or the mirror was stopped.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use crate::directory::outbound::{LinkLimits, Outbound, SessionId, SessionLink, Stop};

use super::bus::Bus;
use super::wire::Control;

/// A link to session `session` of node `node`.
pub fn mirror(bus: &Bus, node: Arc<str>, session: SessionId) -> SessionLink {
    // The address of the real connection is known only to its node.
    let peer = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
    let (link, mut outbox, mut stop_rx) =
        SessionLink::with_limits(session, peer, LinkLimits::default());
    let bus = bus.clone();
    tokio::spawn(async move {
        let forward = |out: Outbound, lane| match out {
            Outbound::Message(message) => {
                bus.deliver(&node, session, lane, message);
                true
            }
            Outbound::Close(frame) => {
                let stop = Stop::close(frame.code, frame.reason.to_string());
                bus.control(&node, Control::stop(session, &stop));
                false
            }
            // A writer's own bookkeeping: the real session's writer does its own.
            Outbound::StartCounting | Outbound::Release => true,
        };
        loop {
            tokio::select! {
                biased;
                item = outbox.next_in_lane() => match item {
                    Some((lane, out)) => {
                        if !forward(out, lane) {
                            return;
                        }
                    }
                    None => {
                        // Every handle is gone; a stop asked for just before still counts.
                        if let Some(stop) = stop_rx.borrow().clone() {
                            bus.control(&node, Control::stop(session, &stop));
                        }
                        return;
                    }
                },
                changed = stop_rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let Some(stop) = stop_rx.borrow().clone() else { continue };
                    // What was queued before the stop goes first (a kick's reason).
                    while let Some((lane, out)) = outbox.ready_in_lane() {
                        forward(out, lane);
                    }
                    bus.control(&node, Control::stop(session, &stop));
                    return;
                }
            }
        }
    });
    link
}
