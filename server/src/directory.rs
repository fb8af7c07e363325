//! The live directory: who is logged in, per tenant, and how to reach their session.
//!
//! Entries are keyed by (tenant, user ID) and remember the session ID, so a late cleanup of
//! an old session can never remove the entry of the session that replaced it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crvideo_proto::{ErrorCode, Event, ServerFrame};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::link::{SessionGone, SessionId, SessionLink, Stop};

/// A logged-in session: who it is and how to reach it.
#[derive(Clone)]
pub struct SessionHandle {
    link: SessionLink,
    tenant: Arc<str>,
    user_id: Arc<str>,
}

impl SessionHandle {
    pub fn new(link: SessionLink, tenant: Arc<str>, user_id: Arc<str>) -> SessionHandle {
        SessionHandle {
            link,
            tenant,
            user_id,
        }
    }

    pub fn session_id(&self) -> SessionId {
        self.link.id()
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn peer(&self) -> SocketAddr {
        self.link.peer()
    }

    /// Queues a frame for this session's client (never blocks).
    pub fn send(&self, frame: &ServerFrame) -> Result<(), SessionGone> {
        self.link.send(frame)
    }

    /// Ends the session: the client is told why (`Event::Kicked { code }`), then closed.
    pub fn kick(&self, code: ErrorCode) {
        let _ = self.send(&ServerFrame::Event(Event::Kicked { code: code.code() }));
        let reason = match code {
            ErrorCode::KickoutByRelogin => "logged in elsewhere",
            _ => "kicked",
        };
        self.link.stop(Stop::close(CloseCode::Normal, reason));
    }
}

/// The online users of one tenant.
type Users = HashMap<Arc<str>, SessionHandle>;

/// Who is online, per tenant.
#[derive(Default)]
pub struct Directory {
    tenants: Mutex<HashMap<Arc<str>, Users>>,
}

/// The user ID a login asks for.
pub enum WantedId<'a> {
    /// This exact ID (a relogin replaces the session holding it).
    Given(&'a str),
    /// Any ID not online in the tenant, made by the given generator.
    Assign(&'a mut dyn FnMut() -> String),
}

impl Directory {
    pub fn new() -> Directory {
        Directory::default()
    }

    /// Registers a session as (tenant, user). Returns the new handle and the handle it
    /// replaced, if any (already removed: the caller kicks it). Atomic: two logins racing for
    /// the same user leave exactly one entry, and an assigned ID is unique in the tenant.
    pub fn register(
        &self,
        tenant: &str,
        wanted: WantedId<'_>,
        link: SessionLink,
    ) -> (SessionHandle, Option<SessionHandle>) {
        let mut tenants = self.tenants.lock().unwrap();
        let tenant_key: Arc<str> = match tenants.get_key_value(tenant) {
            Some((k, _)) => k.clone(),
            None => Arc::from(tenant),
        };
        let users = tenants.entry(tenant_key.clone()).or_default();
        let user_id: Arc<str> = match wanted {
            WantedId::Given(id) => Arc::from(id),
            WantedId::Assign(generate) => loop {
                let id = generate();
                if !users.contains_key(id.as_str()) {
                    break Arc::from(id);
                }
            },
        };
        let handle = SessionHandle::new(link, tenant_key, user_id.clone());
        let replaced = users.insert(user_id, handle.clone());
        (handle, replaced)
    }

    /// Removes (tenant, user) if it is still the given session. True if removed.
    pub fn remove(&self, tenant: &str, user_id: &str, session: SessionId) -> bool {
        let mut tenants = self.tenants.lock().unwrap();
        let Some(users) = tenants.get_mut(tenant) else {
            return false;
        };
        let removed = match users.get(user_id) {
            Some(h) if h.session_id() == session => users.remove(user_id).is_some(),
            _ => false,
        };
        if users.is_empty() {
            tenants.remove(tenant);
        }
        removed
    }

    /// The session of (tenant, user), if online.
    pub fn get(&self, tenant: &str, user_id: &str) -> Option<SessionHandle> {
        let tenants = self.tenants.lock().unwrap();
        tenants.get(tenant)?.get(user_id).cloned()
    }

    /// Sorted IDs of the users of `tenant` with a live session.
    pub fn online_users(&self, tenant: &str) -> Vec<String> {
        let tenants = self.tenants.lock().unwrap();
        let mut users: Vec<String> = tenants
            .get(tenant)
            .map(|u| u.keys().map(|k| k.to_string()).collect())
            .unwrap_or_default();
        users.sort();
        users
    }

    /// Every live session (e.g. to notify all at shutdown).
    pub fn all_sessions(&self) -> Vec<SessionHandle> {
        let tenants = self.tenants.lock().unwrap();
        tenants.values().flat_map(|u| u.values().cloned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: SessionId) -> SessionLink {
        SessionLink::new(id, "127.0.0.1:1".parse().unwrap()).0
    }

    #[test]
    fn register_replace_remove() {
        let dir = Directory::new();
        let (a, old) = dir.register("t1", WantedId::Given("alice"), link(1));
        assert!(old.is_none());
        assert_eq!(a.user_id(), "alice");
        assert_eq!(a.tenant(), "t1");
        let (_b, old) = dir.register("t1", WantedId::Given("alice"), link(2));
        assert_eq!(old.unwrap().session_id(), 1);
        assert_eq!(dir.online_users("t1"), vec!["alice"]);

        // The old session's late cleanup leaves the new entry alone.
        assert!(!dir.remove("t1", "alice", 1));
        assert_eq!(dir.get("t1", "alice").unwrap().session_id(), 2);
        assert!(dir.remove("t1", "alice", 2));
        assert!(dir.online_users("t1").is_empty());
        assert!(dir.get("t1", "alice").is_none());
    }

    #[test]
    fn tenants_are_isolated() {
        let dir = Directory::new();
        dir.register("t1", WantedId::Given("bob"), link(1));
        dir.register("t2", WantedId::Given("bob"), link(2));
        dir.register("t1", WantedId::Given("amy"), link(3));
        assert_eq!(dir.online_users("t1"), vec!["amy", "bob"]);
        assert_eq!(dir.online_users("t2"), vec!["bob"]);
        assert!(dir.online_users("t3").is_empty());
        assert_eq!(dir.all_sessions().len(), 3);
    }

    #[test]
    fn assigned_ids_skip_online_ones() {
        let dir = Directory::new();
        dir.register("t", WantedId::Given("usr_1"), link(1));
        let mut candidates = vec!["usr_2".to_string(), "usr_1".to_string()];
        let mut generate = move || candidates.pop().unwrap();
        let (h, old) = dir.register("t", WantedId::Assign(&mut generate), link(2));
        assert!(old.is_none());
        assert_eq!(h.user_id(), "usr_2");
    }

    #[test]
    fn kick_queues_the_event_and_requests_a_close() {
        let (l, mut rx, stop) = SessionLink::new(9, "127.0.0.1:1".parse().unwrap());
        let dir = Directory::new();
        let (h, _) = dir.register("t", WantedId::Given("u"), l);
        h.kick(ErrorCode::KickoutByRelogin);
        match rx.try_recv().unwrap() {
            crate::link::Outbound::Message(m) => {
                assert_eq!(
                    m.to_text().unwrap(),
                    r#"{"t":"event","ev":"kicked","code":10}"#
                )
            }
            _ => panic!("expected the kicked event"),
        }
        assert!(matches!(*stop.borrow(), Some(Stop::Close { .. })));
    }
}
