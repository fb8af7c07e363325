//! [`LocalDirectory`], the [`Directory`] of one process: who is logged in, per tenant, and
//! how to reach their session.
//!
//! Entries are keyed by (tenant, user ID) and remember the session ID, so a late cleanup of
//! an old session can never remove the entry of the session that replaced it.
//!
//! It also holds presence (status and DND per online user) and the presence subscriptions,
//! and fans changes out to subscribers. A subscriber that does not read has its bounded
//! outbound queue fill up; it is then dropped and its session ended, so fan-out never blocks
//! and never buffers without bound.
//!
//! Lock order (the server's one order: see the [crate] documentation): a tenant's lock comes
//! after every service's, and under it only session lanes are used (the fan-out). The map of
//! tenants is held alone, only to find a tenant's state.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crvideo_proto::{
    encode, Event, ServerFrame, UserStatus, USER_BUSY, USER_IDLE, USER_IN_MEETING, USER_OFFLINE,
};
use tokio_tungstenite::tungstenite::Message;

use super::handle::SessionHandle;
use super::outbound::{SessionId, SessionLink};
use super::{Activity, Directory, WantedId};

/// The live state of one tenant: who is online with which presence, and who subscribed to
/// presence changes. One lock per tenant: a change and its fan-out to every subscriber happen
/// under it, so every subscriber sees the tenant's changes in the same order, each once.
#[derive(Default)]
struct TenantState {
    users: HashMap<Arc<str>, Entry>,
    /// Sessions subscribed to presence changes, by session ID.
    subscribers: BTreeMap<SessionId, SessionLink>,
}

struct Entry {
    handle: SessionHandle,
    /// Ringing or talking.
    in_call: bool,
    /// A queue agent serving a customer (see [`crate::services::queues`]).
    in_service: bool,
    in_meeting: bool,
    dnd: i32,
}

impl Entry {
    /// `userStatus` follows from what the user is doing: a call (or serving a queue's
    /// customer) outranks a meeting.
    fn status(&self) -> UserStatus {
        let status = if self.in_call || self.in_service {
            USER_BUSY
        } else if self.in_meeting {
            USER_IN_MEETING
        } else {
            USER_IDLE
        };
        UserStatus {
            user_id: self.handle.user_id().to_owned(),
            status,
            dnd: self.dnd,
        }
    }
}

impl TenantState {
    /// Sends a presence change to every subscriber. The frame is encoded once. A subscriber
    /// whose queue is full is dropped (its session is being ended for not reading).
    fn publish(&mut self, status: UserStatus) {
        if self.subscribers.is_empty() {
            return;
        }
        let message = Message::text(encode(&ServerFrame::Event(Event::UserStatus(status))));
        self.subscribers
            .retain(|_, link| link.send_message(message.clone()).is_ok());
    }

    /// The entry of `handle`'s user if it still belongs to that session (not replaced).
    fn entry_of(&mut self, handle: &SessionHandle) -> Option<&mut Entry> {
        self.users
            .get_mut(handle.user_id())
            .filter(|e| e.handle.session_id() == handle.session_id())
    }
}

/// What an entry's presence is made of (see [`LocalDirectory::presence`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Presence {
    pub dnd: i32,
    pub in_call: bool,
    pub in_service: bool,
    pub in_meeting: bool,
}

/// Who is online, per tenant, with their presence: every session of this process.
#[derive(Default)]
pub struct LocalDirectory {
    /// Tenants are never removed: there are only as many as the config names.
    tenants: Mutex<HashMap<Arc<str>, Arc<Mutex<TenantState>>>>,
}

impl LocalDirectory {
    pub fn new() -> LocalDirectory {
        LocalDirectory::default()
    }

    /// The tenant's state and its interned name, created on first use.
    fn tenant(&self, tenant: &str) -> (Arc<str>, Arc<Mutex<TenantState>>) {
        let mut tenants = self.tenants.lock().unwrap();
        if let Some((name, state)) = tenants.get_key_value(tenant) {
            return (name.clone(), state.clone());
        }
        let name: Arc<str> = Arc::from(tenant);
        let state = Arc::new(Mutex::new(TenantState::default()));
        tenants.insert(name.clone(), state.clone());
        (name, state)
    }

    fn existing(&self, tenant: &str) -> Option<Arc<Mutex<TenantState>>> {
        self.tenants.lock().unwrap().get(tenant).cloned()
    }

    /// Applies `change` to the session's entry; `ack`, then publishes it if anything changed.
    fn update(
        &self,
        handle: &SessionHandle,
        ack: impl FnOnce(),
        change: impl FnOnce(&mut Entry),
    ) -> bool {
        let Some(state) = self.existing(handle.tenant()) else {
            return false;
        };
        let mut state = state.lock().unwrap();
        let Some(entry) = state.entry_of(handle) else {
            return false;
        };
        let before = entry.status();
        change(entry);
        let after = entry.status();
        ack();
        if after != before {
            state.publish(after);
        }
        true
    }

    /// The presence of the session's entry, if it is still registered.
    pub fn presence(&self, handle: &SessionHandle) -> Option<Presence> {
        let state = self.existing(handle.tenant())?;
        let mut state = state.lock().unwrap();
        state.entry_of(handle).map(|e| Presence {
            dnd: e.dnd,
            in_call: e.in_call,
            in_service: e.in_service,
            in_meeting: e.in_meeting,
        })
    }

    /// Every live session (e.g. to notify all at shutdown).
    pub fn all_sessions(&self) -> Vec<SessionHandle> {
        let tenants: Vec<_> = self.tenants.lock().unwrap().values().cloned().collect();
        tenants
            .iter()
            .flat_map(|t| {
                let state = t.lock().unwrap();
                state
                    .users
                    .values()
                    .map(|e| e.handle.clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// Each method takes its tenant's lock once, and a change's `ack` and its fan-out to the
/// subscribers happen under it.
impl Directory for LocalDirectory {
    fn register(
        &self,
        tenant: &str,
        wanted: WantedId<'_>,
        nickname: &str,
        link: SessionLink,
    ) -> (SessionHandle, Option<SessionHandle>) {
        let (tenant_name, state) = self.tenant(tenant);
        let mut state = state.lock().unwrap();
        let user_id: Arc<str> = match wanted {
            WantedId::Given(id) => Arc::from(id),
            WantedId::Assign(generate) => loop {
                let id = generate();
                if !state.users.contains_key(id.as_str()) {
                    break Arc::from(id);
                }
            },
        };
        let handle = SessionHandle::new(link, tenant_name, user_id.clone(), Arc::from(nickname));
        let entry = Entry {
            handle: handle.clone(),
            in_call: false,
            in_service: false,
            in_meeting: false,
            dnd: 0,
        };
        let status = entry.status();
        let replaced = state.users.insert(user_id, entry).map(|old| old.handle);
        if let Some(old) = &replaced {
            state.subscribers.remove(&old.session_id());
        }
        state.publish(status);
        (handle, replaced)
    }

    fn remove(&self, tenant: &str, user_id: &str, session: SessionId) -> bool {
        let Some(state) = self.existing(tenant) else {
            return false;
        };
        let mut state = state.lock().unwrap();
        state.subscribers.remove(&session);
        let removed = match state.users.get(user_id) {
            Some(e) if e.handle.session_id() == session => state.users.remove(user_id).is_some(),
            _ => false,
        };
        if removed {
            state.publish(UserStatus {
                user_id: user_id.to_owned(),
                status: USER_OFFLINE,
                dnd: 0,
            });
        }
        removed
    }

    fn lookup(&self, tenant: &str, user_id: &str) -> Option<(SessionHandle, i32)> {
        let state = self.existing(tenant)?;
        let state = state.lock().unwrap();
        state.users.get(user_id).map(|e| (e.handle.clone(), e.dnd))
    }

    fn set_dnd(&self, handle: &SessionHandle, dnd: i32, ack: &mut dyn FnMut()) -> bool {
        self.update(handle, ack, |entry| entry.dnd = dnd)
    }

    fn set_activity(&self, handle: &SessionHandle, activity: Activity, on: bool) -> bool {
        self.update(
            handle,
            || {},
            |entry| match activity {
                Activity::Call => entry.in_call = on,
                Activity::Service => entry.in_service = on,
                Activity::Meeting => entry.in_meeting = on,
            },
        )
    }

    fn availability(&self, handle: &SessionHandle) -> Option<(i32, bool)> {
        let state = self.existing(handle.tenant())?;
        let mut state = state.lock().unwrap();
        state.entry_of(handle).map(|e| (e.dnd, e.in_call))
    }

    fn subscribe(&self, handle: &SessionHandle, ack: &mut dyn FnMut()) -> bool {
        let Some(state) = self.existing(handle.tenant()) else {
            return false;
        };
        let mut state = state.lock().unwrap();
        if state.entry_of(handle).is_none() {
            return false;
        }
        state
            .subscribers
            .insert(handle.session_id(), handle.link.clone());
        ack();
        true
    }

    fn unsubscribe(&self, handle: &SessionHandle, ack: &mut dyn FnMut()) {
        match self.existing(handle.tenant()) {
            Some(state) => {
                let mut state = state.lock().unwrap();
                state.subscribers.remove(&handle.session_id());
                ack();
            }
            None => ack(),
        }
    }

    fn statuses(&self, tenant: &str) -> Vec<UserStatus> {
        let Some(state) = self.existing(tenant) else {
            return Vec::new();
        };
        let state = state.lock().unwrap();
        let mut list: Vec<UserStatus> = state.users.values().map(Entry::status).collect();
        list.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::outbound::Stop;
    use crvideo_proto::ErrorCode;

    fn link(id: SessionId) -> SessionLink {
        SessionLink::new(id, "127.0.0.1:1".parse().unwrap()).0
    }

    #[test]
    fn register_replace_remove() {
        let dir = LocalDirectory::new();
        let (a, old) = dir.register("t1", WantedId::Given("alice"), "nick", link(1));
        assert!(old.is_none());
        assert_eq!(a.user_id(), "alice");
        assert_eq!(a.tenant(), "t1");
        let (_b, old) = dir.register("t1", WantedId::Given("alice"), "nick", link(2));
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
        let dir = LocalDirectory::new();
        dir.register("t1", WantedId::Given("bob"), "nick", link(1));
        dir.register("t2", WantedId::Given("bob"), "nick", link(2));
        dir.register("t1", WantedId::Given("amy"), "nick", link(3));
        assert_eq!(dir.online_users("t1"), vec!["amy", "bob"]);
        assert_eq!(dir.online_users("t2"), vec!["bob"]);
        assert!(dir.online_users("t3").is_empty());
        assert_eq!(dir.all_sessions().len(), 3);
    }

    #[test]
    fn assigned_ids_skip_online_ones() {
        let dir = LocalDirectory::new();
        dir.register("t", WantedId::Given("usr_1"), "nick", link(1));
        let mut candidates = vec!["usr_2".to_string(), "usr_1".to_string()];
        let mut generate = move || candidates.pop().unwrap();
        let (h, old) = dir.register("t", WantedId::Assign(&mut generate), "nick", link(2));
        assert!(old.is_none());
        assert_eq!(h.user_id(), "usr_2");
    }

    #[test]
    fn kick_queues_the_event_and_requests_a_close() {
        let (l, mut rx, stop) = SessionLink::new(9, "127.0.0.1:1".parse().unwrap());
        let dir = LocalDirectory::new();
        let (h, _) = dir.register("t", WantedId::Given("u"), "nick", l);
        h.kick(ErrorCode::KickoutByRelogin);
        match rx.try_recv().unwrap() {
            crate::directory::outbound::Outbound::Message(m) => {
                assert_eq!(
                    m.to_text().unwrap(),
                    r#"{"t":"event","ev":"kicked","code":10}"#
                )
            }
            _ => panic!("expected the kicked event"),
        }
        assert!(matches!(*stop.borrow(), Some(Stop::Close { .. })));
    }

    /// A logged-in session whose outbound queue the test can read.
    struct Probe {
        handle: SessionHandle,
        rx: crate::directory::outbound::Outbox,
    }

    impl Probe {
        fn login(dir: &LocalDirectory, tenant: &str, user: &str, id: SessionId) -> Probe {
            let (l, rx, _stop) = SessionLink::new(id, "127.0.0.1:1".parse().unwrap());
            let (handle, _) = dir.register(tenant, WantedId::Given(user), "nick", l);
            Probe { handle, rx }
        }

        /// Everything queued so far, as text.
        fn drain(&mut self) -> Vec<String> {
            let mut out = Vec::new();
            while let Ok(crate::directory::outbound::Outbound::Message(m)) = self.rx.try_recv() {
                out.push(m.to_text().unwrap().to_string());
            }
            out
        }
    }

    fn ev(user: &str, status: i32, dnd: i32) -> String {
        format!(
            r#"{{"t":"event","ev":"user_status","userID":"{user}","userStatus":{status},"DNDType":{dnd}}}"#
        )
    }

    #[test]
    fn every_change_reaches_every_subscriber_once_in_order() {
        let dir = LocalDirectory::new();
        let mut amy = Probe::login(&dir, "t", "amy", 1);
        let mut ben = Probe::login(&dir, "t", "ben", 2);
        assert!(dir.subscribe(&amy.handle, &mut || {}));
        assert!(dir.subscribe(&ben.handle, &mut || {}));
        let cat = Probe::login(&dir, "t", "cat", 3);
        assert!(dir.set_dnd(&cat.handle, 7, &mut || {}));
        assert!(
            dir.set_dnd(&cat.handle, 7, &mut || {}),
            "no change: no event"
        );
        assert!(dir.set_activity(&cat.handle, Activity::Call, true));
        assert!(
            dir.set_activity(&cat.handle, Activity::Meeting, true),
            "no change: busy outranks meeting"
        );
        assert!(dir.set_activity(&cat.handle, Activity::Call, false));
        assert!(dir.set_activity(&cat.handle, Activity::Meeting, false));
        assert!(dir.remove("t", "cat", 3));
        assert!(!dir.remove("t", "cat", 3), "removed once");
        let expected = vec![
            ev("cat", 1, 0),
            ev("cat", 1, 7),
            ev("cat", 2, 7),
            ev("cat", 3, 7),
            ev("cat", 1, 7),
            ev("cat", 0, 0),
        ];
        assert_eq!(amy.drain(), expected);
        assert_eq!(ben.drain(), expected);
    }

    #[test]
    fn relogin_is_one_event_and_ends_the_old_subscription() {
        let dir = LocalDirectory::new();
        let mut amy = Probe::login(&dir, "t", "amy", 1);
        let mut old = Probe::login(&dir, "t", "ben", 2);
        dir.subscribe(&amy.handle, &mut || {});
        dir.subscribe(&old.handle, &mut || {});
        dir.set_dnd(&old.handle, 1, &mut || {});
        amy.drain();
        old.drain();
        let new = Probe::login(&dir, "t", "ben", 3);
        assert_eq!(amy.drain(), vec![ev("ben", 1, 0)]);
        assert!(
            old.drain().is_empty(),
            "the replaced session is no subscriber"
        );
        // The old session is gone for every purpose; its late cleanup changes nothing.
        assert!(!dir.set_dnd(&old.handle, 5, &mut || panic!(
            "no ack for a replaced session"
        )));
        assert!(!dir.subscribe(&old.handle, &mut || {}));
        assert!(!dir.remove("t", "ben", 2));
        assert!(amy.drain().is_empty());
        assert_eq!(
            dir.statuses("t")[1],
            UserStatus {
                user_id: "ben".into(),
                status: 1,
                dnd: 0
            }
        );
        drop(new);
    }

    #[test]
    fn ack_precedes_the_notification_and_unsubscribe_stops_them() {
        let dir = LocalDirectory::new();
        let mut amy = Probe::login(&dir, "t", "amy", 1);
        let link = amy.handle.link.clone();
        let mut ack = || link.send_message(Message::text("ack")).unwrap();
        assert!(dir.subscribe(&amy.handle, &mut ack));
        assert!(dir.set_dnd(&amy.handle, 2, &mut ack));
        assert_eq!(
            amy.drain(),
            vec!["ack".to_string(), "ack".to_string(), ev("amy", 1, 2)]
        );
        dir.unsubscribe(&amy.handle, &mut || {
            link.send_message(Message::text("bye")).unwrap();
        });
        dir.unsubscribe(&amy.handle, &mut || {});
        Probe::login(&dir, "t", "ben", 2);
        assert_eq!(amy.drain(), vec!["bye".to_string()]);
    }

    #[test]
    fn a_subscriber_that_does_not_read_is_dropped() {
        let dir = LocalDirectory::new();
        let (l, _rx, stop) = SessionLink::new(1, "127.0.0.1:1".parse().unwrap());
        let (slow, _) = dir.register("t", WantedId::Given("slow"), "nick", l);
        dir.subscribe(&slow, &mut || {});
        let ben = Probe::login(&dir, "t", "ben", 2);
        for i in 0..crate::directory::outbound::OUTBOUND_CAPACITY as i32 + 10 {
            dir.set_dnd(&ben.handle, i + 1, &mut || {});
        }
        assert!(matches!(*stop.borrow(), Some(Stop::Abort { .. })));
        assert!(dir.tenants.lock().unwrap()["t"]
            .lock()
            .unwrap()
            .subscribers
            .is_empty());
    }

    #[test]
    fn presence_does_not_cross_tenants() {
        let dir = LocalDirectory::new();
        let mut amy = Probe::login(&dir, "t1", "amy", 1);
        dir.subscribe(&amy.handle, &mut || {});
        let bob = Probe::login(&dir, "t2", "bob", 2);
        dir.set_dnd(&bob.handle, 1, &mut || {});
        dir.remove("t2", "bob", 2);
        assert!(amy.drain().is_empty());
        assert_eq!(dir.statuses("t1").len(), 1);
        assert!(dir.statuses("t2").is_empty());
    }
}
