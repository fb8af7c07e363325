//! [`ClusterDirectory`]: the [`Directory`] of a node in a cluster.
//!
//! Every node keeps a full copy of who is online in the cluster, in a [`LocalDirectory`]:
//! its own sessions, and a [mirror](super::mirror) of every session of the other nodes.
//! Reads (lookups, presence lists, a call's check of the callee's DND) are local and never
//! wait. A change is made here, then published as a [`DirEvent`]; the other nodes apply it
//! to their copies and tell their own presence subscribers, so a presence change reaches
//! 10,000 subscribers on three nodes as three Redis deliveries, not 10,000.
//!
//! Redis decides between logins: a login claims its user in the tenant's hash of online
//! users, which gives it a version from one counter. A node applies another's `online`
//! only if it is newer than the session it has for that user, so two logins racing on two
//! nodes end the same way everywhere: the later claim wins, and the node whose login won
//! kicks the other session through its mirror. The hash holds each online user's record
//! (node, session, nickname, presence), written by the node holding the session; a node
//! that starts, or comes back after Redis was away, loads its copy from there.
//!
//! Lock order: `order` (logins and remote logins, one at a time), then a tenant's state in
//! the local directory, then `replica`; `replica` is taken alone or last (only channel
//! sends under it).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crvideo_proto::UserStatus;
use tracing::warn;

use super::bus::Bus;
use super::mirror::{mirror, NodeSink};
use super::wire::{online_key, tag_of, DirEvent, Record, TENANTS_KEY, VERSION_KEY};
use crate::directory::handle::SessionHandle;
use crate::directory::local::{LocalDirectory, Presence};
use crate::directory::outbound::{SessionId, SessionLink};
use crate::directory::{Activity, Directory, WantedId};

/// Claims a user: a new version for its record. With `ARGV[4] == "1"` only if the user is
/// not online (an assigned ID), else 0.
const CLAIM: &str = r"
if ARGV[4] == '1' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
local v = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], v .. '|' .. ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
return v
";

/// Rewrites (or with an empty record, deletes) a user's record if it is still session
/// `ARGV[2]`'s, keeping its version.
const UPDATE: &str = r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local bar = string.find(cur, '|', 1, true)
if not bar then return 0 end
local rec = cjson.decode(string.sub(cur, bar + 1))
if rec.session ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], string.sub(cur, 1, bar) .. ARGV[3])
end
return 1
";

/// How long a login waits for Redis before going on without it.
const CLAIM_TIMEOUT: Duration = Duration::from_secs(2);

/// (tenant, user) of a session.
type TenantUser = (Arc<str>, Arc<str>);

/// The remote sessions this node mirrors, and the sessions it holds.
#[derive(Default)]
struct Replica {
    /// This node's sessions: the link frames from other nodes are queued in.
    own: HashMap<SessionId, SessionLink>,
    /// The login version of every session in the copy.
    versions: HashMap<SessionId, u64>,
    /// The other nodes' sessions, by node.
    remote: HashMap<Arc<str>, HashMap<SessionId, TenantUser>>,
    /// The nodes seen, by tag (from their session IDs).
    tags: HashMap<u64, Arc<str>>,
    /// The way to each node's sessions, shared by their mirrors.
    sinks: HashMap<Arc<str>, Arc<NodeSink>>,
}

/// The synchronous connection logins claim their user with (a login must know whether it
/// replaced a session before it answers).
struct Claims {
    client: redis::Client,
    conn: Option<redis::Connection>,
}

impl Claims {
    fn run<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let conn = self.conn.insert(conn);
        match cmd.query(conn) {
            // A connection Redis dropped (it restarted): once more on a new one.
            Err(e) if e.is_io_error() || e.is_connection_dropped() => {
                self.conn = None;
                let conn = self.connect()?;
                cmd.query(self.conn.insert(conn))
            }
            result => result,
        }
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let conn = self.client.get_connection_with_timeout(CLAIM_TIMEOUT)?;
        conn.set_read_timeout(Some(CLAIM_TIMEOUT))?;
        conn.set_write_timeout(Some(CLAIM_TIMEOUT))?;
        Ok(conn)
    }
}

pub struct ClusterDirectory {
    local: LocalDirectory,
    bus: Bus,
    claims: Mutex<Claims>,
    order: Mutex<()>,
    replica: Mutex<Replica>,
}

/// A remote login to apply (from an event or a stored record).
pub(crate) struct RemoteLogin<'a> {
    pub node: &'a str,
    pub tenant: &'a str,
    pub user: &'a str,
    pub nickname: &'a str,
    pub session: SessionId,
    pub version: u64,
    pub presence: Presence,
}

impl ClusterDirectory {
    pub fn new(bus: Bus, client: redis::Client) -> ClusterDirectory {
        ClusterDirectory {
            local: LocalDirectory::new(),
            bus,
            claims: Mutex::new(Claims { client, conn: None }),
            order: Mutex::new(()),
            replica: Mutex::new(Replica::default()),
        }
    }

    fn me(&self) -> &str {
        self.bus.node()
    }

    /// Claims (tenant, user) for a session of this node: its version, 0 if `only_if_free`
    /// and the user is online somewhere.
    fn claim(
        &self,
        tenant: &str,
        user: &str,
        record: &Record,
        only_if_free: bool,
    ) -> redis::RedisResult<u64> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(CLAIM)
            .arg(3)
            .arg(online_key(tenant))
            .arg(VERSION_KEY)
            .arg(TENANTS_KEY)
            .arg(user)
            .arg(serde_json::to_string(record).expect("serializable"))
            .arg(tenant)
            .arg(if only_if_free { "1" } else { "0" });
        self.claims.lock().unwrap().run(&cmd)
    }

    /// Queues the rewrite (or with `None`, the removal) of the record of this node's
    /// session of (tenant, user), in order with its events.
    fn write_record(&self, tenant: &str, user: &str, session: SessionId, record: Option<Record>) {
        let json = record.map_or(String::new(), |r| {
            serde_json::to_string(&r).expect("serializable")
        });
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(UPDATE)
            .arg(1)
            .arg(online_key(tenant))
            .arg(user)
            .arg(session.to_string())
            .arg(json);
        self.bus.command(cmd);
    }

    fn record_of(&self, handle: &SessionHandle, presence: Presence) -> Record {
        Record {
            node: self.me().to_owned(),
            session: handle.session_id().to_string(),
            nickname: handle.nickname().to_owned(),
            dnd: presence.dnd,
            call: presence.in_call,
            service: presence.in_service,
            meeting: presence.in_meeting,
        }
    }

    fn is_own(&self, session: SessionId) -> bool {
        self.replica.lock().unwrap().own.contains_key(&session)
    }

    /// After a presence change of `handle`: the record, if the session is this node's.
    fn presence_changed(&self, handle: &SessionHandle) {
        if !self.is_own(handle.session_id()) {
            return;
        }
        if let Some(presence) = self.local.presence(handle) {
            let record = self.record_of(handle, presence);
            self.write_record(
                handle.tenant(),
                handle.user_id(),
                handle.session_id(),
                Some(record),
            );
        }
    }

    /// The link of this node's session `session`, to queue frames from other nodes in.
    pub(crate) fn own_link(&self, session: SessionId) -> Option<SessionLink> {
        self.replica.lock().unwrap().own.get(&session).cloned()
    }

    /// The session `session` of (tenant, user), if the copy has it.
    pub(crate) fn session(
        &self,
        tenant: &str,
        user: &str,
        session: SessionId,
    ) -> Option<SessionHandle> {
        self.local
            .get(tenant, user)
            .filter(|h| h.session_id() == session)
    }

    /// Applies another node's login: a mirror replaces the user's session if it is older.
    /// A replaced session of this node is left to the winner's kick (through its mirror).
    pub(crate) fn apply_login(&self, login: RemoteLogin<'_>) {
        if login.node == self.me() {
            return;
        }
        let _order = self.order.lock().unwrap();
        if let Some(current) = self.local.get(login.tenant, login.user) {
            let replica = self.replica.lock().unwrap();
            let current_version = replica.versions.get(&current.session_id()).copied();
            if current.session_id() == login.session || current_version >= Some(login.version) {
                return;
            }
        }
        let (node, sink) = {
            let mut replica = self.replica.lock().unwrap();
            match replica.sinks.get_key_value(login.node) {
                Some((node, sink)) => (node.clone(), sink.clone()),
                None => {
                    let node: Arc<str> = Arc::from(login.node);
                    let sink = NodeSink::new(self.bus.clone(), node.clone());
                    replica.sinks.insert(node.clone(), sink.clone());
                    (node, sink)
                }
            }
        };
        let link = mirror(sink, login.session);
        let (handle, replaced) = self.local.register(
            login.tenant,
            WantedId::Given(login.user),
            login.nickname,
            link,
        );
        let p = login.presence;
        if p != Presence::default() {
            let mut no_ack = || {};
            self.local.set_dnd(&handle, p.dnd, &mut no_ack);
            for (activity, on) in [
                (Activity::Call, p.in_call),
                (Activity::Service, p.in_service),
                (Activity::Meeting, p.in_meeting),
            ] {
                if on {
                    self.local.set_activity(&handle, activity, true);
                }
            }
        }
        let mut replica = self.replica.lock().unwrap();
        if let Some(old) = replaced {
            forget_remote(&mut replica, &old);
        }
        replica.versions.insert(login.session, login.version);
        replica.tags.insert(tag_of(login.session), node.clone());
        replica
            .remote
            .entry(node)
            .or_default()
            .insert(login.session, (handle.tenant_arc(), handle.user_id_arc()));
    }

    /// Applies another node's DND or activity change to the copy.
    pub(crate) fn apply_presence(&self, event: &DirEvent) {
        match event {
            DirEvent::Dnd {
                tenant,
                user,
                session,
                dnd,
                ..
            } => {
                if let Some(handle) = self.session(tenant, user, *session) {
                    if self.local.set_dnd(&handle, *dnd, &mut || {}) {
                        self.presence_changed(&handle);
                    }
                }
            }
            DirEvent::Activity {
                tenant,
                user,
                session,
                activity,
                on,
                ..
            } => {
                if let Some(handle) = self.session(tenant, user, *session) {
                    if self.local.set_activity(&handle, (*activity).into(), *on) {
                        self.presence_changed(&handle);
                    }
                }
            }
            DirEvent::Online { .. }
            | DirEvent::Offline { .. }
            | DirEvent::NetDisk { .. }
            | DirEvent::MeetingDestroyed { .. }
            | DirEvent::Service { .. } => {}
        }
    }

    /// The node whose tag is `tag`, if one of its sessions was seen.
    pub(crate) fn node_of_tag(&self, tag: u64) -> Option<Arc<str>> {
        self.replica.lock().unwrap().tags.get(&tag).cloned()
    }

    /// Whether this copy mirrors sessions of `node` (so it is alive, as far as it knows).
    pub(crate) fn mirrors_node(&self, node: &str) -> bool {
        self.replica.lock().unwrap().remote.contains_key(node)
    }

    /// The nodes whose sessions this copy mirrors.
    pub(crate) fn remote_nodes(&self) -> Vec<Arc<str>> {
        self.replica
            .lock()
            .unwrap()
            .remote
            .keys()
            .cloned()
            .collect()
    }

    /// The mirrored sessions of `node`.
    pub(crate) fn sessions_of(&self, node: &str) -> Vec<SessionHandle> {
        let sessions: Vec<_> = {
            let replica = self.replica.lock().unwrap();
            replica
                .remote
                .get(node)
                .map(|s| {
                    s.iter()
                        .map(|(id, (t, u))| (*id, t.clone(), u.clone()))
                        .collect()
                })
                .unwrap_or_default()
        };
        sessions
            .into_iter()
            .filter_map(|(id, tenant, user)| self.session(&tenant, &user, id))
            .collect()
    }

    /// Every mirrored session, with its node.
    pub(crate) fn all_remote(&self) -> Vec<(Arc<str>, SessionHandle)> {
        self.remote_nodes()
            .into_iter()
            .flat_map(|node| {
                self.sessions_of(&node)
                    .into_iter()
                    .map(move |h| (node.clone(), h))
            })
            .collect()
    }

    /// Removes the record of a session of a node that died (if still its own).
    pub(crate) fn forget_record(&self, handle: &SessionHandle) {
        self.write_record(handle.tenant(), handle.user_id(), handle.session_id(), None);
    }

    /// Claims and announces every session of this node again (Redis lost its records, or
    /// the other nodes took this one for dead). False if Redis failed on the way.
    pub(crate) fn announce_again(&self) -> bool {
        let own: Vec<SessionHandle> = self
            .local
            .all_sessions()
            .into_iter()
            .filter(|h| self.is_own(h.session_id()))
            .collect();
        for handle in own {
            let presence = self.local.presence(&handle).unwrap_or_default();
            let record = self.record_of(&handle, presence);
            match self.claim(handle.tenant(), handle.user_id(), &record, false) {
                Ok(version) => {
                    self.replica
                        .lock()
                        .unwrap()
                        .versions
                        .insert(handle.session_id(), version);
                    self.bus
                        .event(&online_event(self.me(), &handle, version, presence));
                }
                Err(e) => {
                    warn!("cluster: cannot announce the sessions of this node again: {e}");
                    return false;
                }
            }
        }
        true
    }
}

/// Forgets a replaced session unless it is this node's (its own removal forgets it then).
fn forget_remote(replica: &mut Replica, old: &SessionHandle) {
    if !replica.own.contains_key(&old.session_id()) {
        forget(replica, old.session_id());
    }
}

/// Forgets `session`'s version and its place among the other nodes' sessions.
fn forget(replica: &mut Replica, session: SessionId) {
    replica.versions.remove(&session);
    for sessions in replica.remote.values_mut() {
        sessions.remove(&session);
    }
    replica.remote.retain(|_, s| !s.is_empty());
}

fn online_event(node: &str, handle: &SessionHandle, version: u64, p: Presence) -> DirEvent {
    DirEvent::Online {
        node: node.to_owned(),
        tenant: handle.tenant().to_owned(),
        user: handle.user_id().to_owned(),
        nickname: handle.nickname().to_owned(),
        session: handle.session_id(),
        version,
        dnd: p.dnd,
        call: p.in_call,
        service: p.in_service,
        meeting: p.in_meeting,
    }
}

impl Directory for ClusterDirectory {
    fn register(
        &self,
        tenant: &str,
        wanted: WantedId<'_>,
        nickname: &str,
        link: SessionLink,
    ) -> (SessionHandle, Option<SessionHandle>) {
        let session = link.id();
        let record = Record {
            node: self.me().to_owned(),
            session: session.to_string(),
            nickname: nickname.to_owned(),
            dnd: 0,
            call: false,
            service: false,
            meeting: false,
        };
        let claimed =
            |user: &str, only_if_free| match self.claim(tenant, user, &record, only_if_free) {
                Ok(version) => Some(version),
                Err(e) => {
                    // Served here alone until the heartbeat finds Redis again and announces it.
                    warn!("cluster: login of {user:?} not claimed in Redis: {e}");
                    None
                }
            };
        let (user, version) = match wanted {
            WantedId::Given(id) => (id.to_owned(), claimed(id, false).unwrap_or(0)),
            WantedId::Assign(generate) => loop {
                let id = generate();
                if self.local.get(tenant, &id).is_some() {
                    continue;
                }
                match claimed(&id, true) {
                    Some(0) => continue,
                    Some(version) => break (id, version),
                    None => break (id, 0),
                }
            },
        };
        let (handle, replaced) = {
            let _order = self.order.lock().unwrap();
            let (handle, replaced) =
                self.local
                    .register(tenant, WantedId::Given(&user), nickname, link.clone());
            let mut replica = self.replica.lock().unwrap();
            if let Some(old) = &replaced {
                forget_remote(&mut replica, old);
            }
            replica.own.insert(session, link);
            replica.versions.insert(session, version);
            (handle, replaced)
        };
        self.bus.event(&online_event(
            self.me(),
            &handle,
            version,
            Presence::default(),
        ));
        (handle, replaced)
    }

    fn remove(&self, tenant: &str, user_id: &str, session: SessionId) -> bool {
        let removed = self.local.remove(tenant, user_id, session);
        let own = {
            let mut replica = self.replica.lock().unwrap();
            let own = replica.own.remove(&session).is_some();
            forget(&mut replica, session);
            own
        };
        if own {
            self.write_record(tenant, user_id, session, None);
            if removed {
                self.bus.event(&DirEvent::Offline {
                    node: self.me().to_owned(),
                    tenant: tenant.to_owned(),
                    user: user_id.to_owned(),
                    session,
                });
            }
        }
        removed
    }

    fn lookup(&self, tenant: &str, user_id: &str) -> Option<(SessionHandle, i32)> {
        self.local.lookup(tenant, user_id)
    }

    fn set_dnd(&self, handle: &SessionHandle, dnd: i32, ack: &mut dyn FnMut()) -> bool {
        if !self.local.set_dnd(handle, dnd, ack) {
            return false;
        }
        self.bus.event(&DirEvent::Dnd {
            node: self.me().to_owned(),
            tenant: handle.tenant().to_owned(),
            user: handle.user_id().to_owned(),
            session: handle.session_id(),
            dnd,
        });
        self.presence_changed(handle);
        true
    }

    fn set_activity(&self, handle: &SessionHandle, activity: Activity, on: bool) -> bool {
        if !self.local.set_activity(handle, activity, on) {
            return false;
        }
        self.bus.event(&DirEvent::Activity {
            node: self.me().to_owned(),
            tenant: handle.tenant().to_owned(),
            user: handle.user_id().to_owned(),
            session: handle.session_id(),
            activity: activity.into(),
            on,
        });
        self.presence_changed(handle);
        true
    }

    fn availability(&self, handle: &SessionHandle) -> Option<(i32, bool)> {
        self.local.availability(handle)
    }

    fn subscribe(&self, handle: &SessionHandle, ack: &mut dyn FnMut()) -> bool {
        self.local.subscribe(handle, ack)
    }

    fn unsubscribe(&self, handle: &SessionHandle, ack: &mut dyn FnMut()) {
        self.local.unsubscribe(handle, ack)
    }

    fn statuses(&self, tenant: &str) -> Vec<UserStatus> {
        self.local.statuses(tenant)
    }
}

/// The remote sessions of the copy that a fresh load of the records did not list.
pub(crate) fn missing_from(
    copy: Vec<(Arc<str>, SessionHandle)>,
    listed: &HashSet<SessionId>,
) -> Vec<SessionHandle> {
    copy.into_iter()
        .map(|(_, h)| h)
        .filter(|h| !listed.contains(&h.session_id()))
        .collect()
}
