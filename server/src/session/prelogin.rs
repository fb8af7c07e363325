//! Connections that are not logged in yet: how many the server holds, per source address and
//! in all, and which one gives way when it is full.
//!
//! A connection costs a file descriptor and buffers from its TCP accept on, before it has
//! proved anything; a client that completes the handshakes and then answers pings without
//! logging in would otherwise keep both forever. So every accepted connection takes a
//! [`Ticket`] until its login succeeds (or its session is resumed), and:
//!
//! - each source address may hold `max_prelogin_per_address` tickets; a connection beyond is
//!   closed at once;
//! - all sources together may hold `max_prelogin_connections`; when a new connection finds
//!   them all taken, the oldest ticket whose connection has not asked to log in yet is
//!   evicted (that connection is closed) and the new one takes its place. Connections that
//!   asked to log in are never evicted (their login is being checked), so real clients,
//!   which log in right after connecting, get through a flood of idle ones; if every ticket
//!   is logging in, the new connection is closed;
//! - a ticket's connection has `login_timeout_ms` from its WebSocket upgrade to log in (see
//!   [`connection`](super::connection)).
//!
//! Logged-in sessions hold no ticket: these bounds leave the rest of the file descriptors to
//! them.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The connections not logged in yet.
pub(crate) struct PreLogin {
    max_total: usize,
    max_per_address: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Tickets by age (oldest first).
    tickets: BTreeMap<u64, Held>,
    per_address: HashMap<IpAddr, usize>,
    next_seq: u64,
}

struct Held {
    address: IpAddr,
    /// Asked to log in (or resume): no longer evicted.
    logging_in: bool,
    evict: Arc<Notify>,
}

impl Inner {
    fn remove(&mut self, seq: u64) -> Option<Held> {
        let held = self.tickets.remove(&seq)?;
        if let Some(n) = self.per_address.get_mut(&held.address) {
            *n -= 1;
            if *n == 0 {
                self.per_address.remove(&held.address);
            }
        }
        Some(held)
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Its address holds `max_prelogin_per_address` connections already.
    Address,
    /// All `max_prelogin_connections` are logging in.
    Full,
}

impl PreLogin {
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<PreLogin> {
        Arc::new(PreLogin {
            max_total,
            max_per_address,
            inner: Mutex::default(),
        })
    }

    /// Admits a new connection from `address`, evicting the oldest idle one if all places
    /// are taken.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Ticket, Refused> {
        let mut inner = self.inner.lock().unwrap();
        if inner.per_address.get(&address).copied().unwrap_or(0) >= self.max_per_address {
            return Err(Refused::Address);
        }
        if inner.tickets.len() >= self.max_total {
            let idle = inner
                .tickets
                .iter()
                .find(|(_, held)| !held.logging_in)
                .map(|(seq, _)| *seq);
            let evicted = idle
                .and_then(|seq| inner.remove(seq))
                .ok_or(Refused::Full)?;
            // A permit is stored if the connection is not waiting for it yet.
            evicted.evict.notify_one();
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let evict = Arc::new(Notify::new());
        inner.tickets.insert(
            seq,
            Held {
                address,
                logging_in: false,
                evict: evict.clone(),
            },
        );
        *inner.per_address.entry(address).or_default() += 1;
        Ok(Ticket {
            gate: self.clone(),
            seq,
            evict,
        })
    }

    /// Connections holding a ticket now.
    pub fn held(&self) -> usize {
        self.inner.lock().unwrap().tickets.len()
    }
}

/// A place among the connections not logged in; given back when dropped.
pub(crate) struct Ticket {
    gate: Arc<PreLogin>,
    seq: u64,
    evict: Arc<Notify>,
}

impl Ticket {
    /// The connection asked to log in: it is no longer evicted for a newer one.
    pub fn logging_in(&self) {
        let mut inner = self.gate.inner.lock().unwrap();
        if let Some(held) = inner.tickets.get_mut(&self.seq) {
            held.logging_in = true;
        }
    }

    /// Completes when this ticket was evicted for a newer connection.
    pub async fn evicted(&self) {
        self.evict.notified().await
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.gate.inner.lock().unwrap().remove(self.seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn per_address_and_total_bounds() {
        let gate = PreLogin::new(4, 2);
        let a1 = gate.admit(ip(1)).unwrap();
        let _a2 = gate.admit(ip(1)).unwrap();
        assert_eq!(gate.admit(ip(1)).err(), Some(Refused::Address));
        drop(a1);
        let _a3 = gate.admit(ip(1)).unwrap();
        let _b1 = gate.admit(ip(2)).unwrap();
        let _b2 = gate.admit(ip(2)).unwrap();
        assert_eq!(gate.held(), 4);
    }

    #[tokio::test]
    async fn a_full_gate_evicts_the_oldest_idle_connection() {
        let gate = PreLogin::new(3, 10);
        let oldest = gate.admit(ip(1)).unwrap();
        let logging_in = gate.admit(ip(1)).unwrap();
        let idle = gate.admit(ip(2)).unwrap();
        oldest.logging_in();
        logging_in.logging_in();
        // The oldest idle one gives way, whatever its address.
        let newer = gate.admit(ip(3)).unwrap();
        idle.evicted().await;
        assert_eq!(gate.held(), 3);
        // Its ticket no longer counts when it is dropped.
        drop(idle);
        assert_eq!(gate.held(), 3);
        newer.logging_in();
        // Everyone logging in: the new connection is refused, nobody is evicted.
        assert_eq!(gate.admit(ip(4)).err(), Some(Refused::Full));
        assert_eq!(gate.held(), 3);
        drop(oldest);
        let _last = gate.admit(ip(4)).unwrap();
    }
}
