//! Cluster mode: several nodes serving as one, coordinated through Redis.
//!
//! A client connects to any node; its session lives there. Each node keeps a full copy of
//! the cluster's directory ([`directory::ClusterDirectory`]): its own sessions and a
//! [mirror] of every session of the other nodes, so the services reach a user on
//! another node through the same [`SessionHandle`] as a local one. The directory's events go
//! through Redis pub/sub on one channel every node listens to ([`bus`], [`wire`]); what one
//! node says to another (frames for its sessions, forwarded requests, stops) goes over a
//! direct TCP [link](links), or through the node's Redis inbox when it cannot be linked.
//! A node only ever forwards to another node requests of sessions that node already knows
//! (it addressed them first), so the two paths need no order between them.
//!
//! Liveness: every node renews a key twice per heartbeat that expires after two and a half;
//! a node whose key is gone is dead, and every other node takes its sessions offline (their calls end, they
//! leave their rooms, their subscribers see them offline) and removes their records. A node
//! that finds its own key gone (Redis restarted, or it stalled) announces its sessions
//! again; one that lost its subscription (Redis away) subscribes again and reloads its copy.
//!
//! IDs that name a node's state carry the node's tag (from a Redis counter) in their high
//! bits: session IDs and relay IDs, so a request about a command another node relayed is
//! forwarded to it (see `Node::owner_of`).

pub mod bus;
mod delegates;
pub mod directory;
pub mod links;
pub mod mirror;
mod queues;
mod rooms;
pub mod wire;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::config::ClusterConfig;
use crate::directory::handle::SessionHandle;
use crate::directory::local::Presence;
use crate::directory::outbound::SessionId;
use crate::shutdown::shutdown_requested;
use crate::state::Shared;
use bus::Bus;
use delegates::Delegates;
use directory::{ClusterDirectory, RemoteLogin};
pub(crate) use queues::NodeEngine;
pub(crate) use rooms::NodeRooms;
use wire::{
    alive_key, inbox, parse_record, stop_of, tag_of, Control, DirEvent, NodeMessage,
    DIRECTORY_CHANNEL, TAG_KEY, TAG_SHIFT, TENANTS_KEY,
};

/// Tags run from 1 to this (IDs stay below 2^53, exact in JSON numbers everywhere).
const MAX_TAG: u64 = (1 << 13) - 1;
/// How long start-up waits for Redis.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A node renews its liveness key and checks the others' twice per heartbeat; the key
/// lives two and a half heartbeats, so a dead node is found within three heartbeats and a
/// live one may stall for two before it is taken for dead.
const CHECKS_PER_BEAT: u32 = 2;
/// The liveness key's lifetime, in tenths of a heartbeat.
const ALIVE_TENTHS: u32 = 25;

/// How long Redis remembers which node holds a call or a transfer (a day: longer than any
/// of them lasts; a newer one with the same ID takes the key over).
const OBJECT_TTL_SECS: u64 = 24 * 3600;

/// The kinds of state that live on one node and are named by an ID the client chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A call or an invitation.
    Call,
    Transfer,
}

impl ObjectKind {
    fn name(self) -> &'static str {
        match self {
            ObjectKind::Call => "call",
            ObjectKind::Transfer => "transfer",
        }
    }
}

/// A request another node forwarded (see [`Control::Request`]).
struct Forwarded {
    tenant: String,
    user: String,
    session: SessionId,
    text: String,
}

/// This node in the cluster.
pub struct Node {
    id: Arc<str>,
    tag: u64,
    /// Where other nodes link to this one (the value of its liveness key).
    advertise: String,
    /// The cluster's secret, which opens a link.
    secret: Arc<str>,
    /// Taken by [`Node::run`], which accepts the links.
    link_listener: std::sync::Mutex<Option<tokio::net::TcpListener>>,
    heartbeat: Duration,
    client: redis::Client,
    conn: ConnectionManager,
    bus: Bus,
    directory: Arc<ClusterDirectory>,
    /// This node's sessions in a room another node is the home of (see [`rooms`]).
    routes: std::sync::Mutex<std::collections::HashMap<SessionId, rooms::Route>>,
    /// Where each tenant's queue engine is, as far as this node knows (see [`queues`]).
    queue_homes: std::sync::Mutex<std::collections::HashMap<Arc<str>, Arc<str>>>,
    /// This node's sessions using a queue engine on another node.
    queue_uses: std::sync::Mutex<queues::QueueUses>,
}

impl Node {
    /// Connects to Redis and takes this node's place: its tag and its liveness key. Fails
    /// (one line) if Redis cannot be reached or a live node already has this ID.
    pub async fn join(config: &ClusterConfig, heartbeat: Duration) -> Result<Arc<Node>, String> {
        let url = redacted(&config.redis_url);
        let client = redis::Client::open(config.redis_url.as_str())
            .map_err(|e| format!("cluster: bad redis_url {url}: {e}"))?;
        let connecting = client.get_connection_manager();
        let mut conn = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(format!("cluster: cannot reach Redis at {url}: {e}")),
            Err(_) => {
                return Err(format!(
                    "cluster: cannot reach Redis at {url}: no answer in {CONNECT_TIMEOUT:?}"
                ))
            }
        };
        let id: Arc<str> = Arc::from(config.node_id.as_str());
        let (link_listener, link_addr) = bind_links(config).await?;
        let ttl = heartbeat * ALIVE_TENTHS / 10;
        let taken: Option<String> = redis::cmd("SET")
            .arg(alive_key(&id))
            .arg(&link_addr)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("cluster: Redis at {url}: {e}"))?;
        if taken.is_none() {
            return Err(format!(
                "cluster: node_id {id:?} is already alive in the cluster (another node has it)"
            ));
        }
        let count: u64 = redis::cmd("INCR")
            .arg(TAG_KEY)
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("cluster: Redis at {url}: {e}"))?;
        let tag = (count - 1) % MAX_TAG + 1;
        let secret = cluster_secret(&mut conn)
            .await
            .map_err(|e| format!("cluster: Redis at {url}: {e}"))?;
        let bus = Bus::start(id.clone(), conn.clone());
        let resolve_conn = conn.clone();
        let resolve: links::Resolve = Arc::new(move |node: Arc<str>| {
            let mut conn = resolve_conn.clone();
            Box::pin(async move {
                redis::cmd("GET")
                    .arg(alive_key(&node))
                    .query_async::<Option<String>>(&mut conn)
                    .await
                    .ok()
                    .flatten()
            })
        });
        let fallback_bus = bus.clone();
        let fallback: links::Fallback =
            Arc::new(move |node: &str, message| fallback_bus.publish_to_inbox(node, message));
        bus.use_links(links::Links::new(secret.clone(), resolve, fallback));
        let directory = Arc::new(ClusterDirectory::new(bus.clone(), client.clone()));
        info!(node = &*id, tag, "joined the cluster at {url}");
        Ok(Arc::new(Node {
            id,
            tag,
            advertise: link_addr,
            secret,
            link_listener: std::sync::Mutex::new(Some(link_listener)),
            heartbeat,
            client,
            conn,
            bus,
            directory,
            routes: Default::default(),
            queue_homes: Default::default(),
            queue_uses: Default::default(),
        }))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn directory(&self) -> Arc<ClusterDirectory> {
        self.directory.clone()
    }

    /// The first ID of this node's sessions and relayed commands.
    pub fn id_base(&self) -> u64 {
        self.tag << TAG_SHIFT
    }

    /// The node that holds the state an ID of [`Node::id_base`]'s kind names, if not this
    /// one and known (a node whose users are all offline is not).
    pub(crate) fn owner_of(&self, id: u64) -> Option<Arc<str>> {
        let tag = tag_of(id);
        if tag == self.tag {
            return None;
        }
        self.directory.node_of_tag(tag)
    }

    /// Records in Redis that this node holds `id` of `kind`; returns once Redis has it, so
    /// before the other party can hear of it (over a link, faster than Redis).
    pub(crate) async fn claim_object(&self, tenant: &str, kind: ObjectKind, id: &str) {
        let mut conn = self.conn.clone();
        let claimed: redis::RedisResult<()> = redis::cmd("SET")
            .arg(wire::object_key(tenant, kind.name(), id))
            .arg(&*self.id)
            .arg("EX")
            .arg(OBJECT_TTL_SECS)
            .query_async(&mut conn)
            .await;
        if let Err(e) = claimed {
            warn!("cluster: cannot record the owner of {id:?}: {e}");
        }
    }

    /// The live node other than this one that holds `id` of `kind`, if any.
    pub(crate) async fn owner_of_object(
        &self,
        tenant: &str,
        kind: ObjectKind,
        id: &str,
    ) -> Option<Arc<str>> {
        let mut conn = self.conn.clone();
        let owner: Option<String> = redis::cmd("GET")
            .arg(wire::object_key(tenant, kind.name(), id))
            .query_async(&mut conn)
            .await
            .inspect_err(|e| warn!("cluster: cannot look up the owner of {id:?}: {e}"))
            .ok()
            .flatten();
        let owner = owner.filter(|owner| **owner != *self.id)?;
        // Only a node whose sessions this one mirrors is known to be alive.
        self.directory
            .mirrors_node(&owner)
            .then(|| Arc::from(owner.as_str()))
    }

    /// Tells the other nodes a file of `tenant`'s net disk was stored or deleted.
    pub fn netdisk_changed(&self, tenant: &str) {
        self.bus.event(&DirEvent::NetDisk {
            node: self.id.to_string(),
            tenant: tenant.to_owned(),
        });
    }

    /// Forwards `requester`'s request `text` to `node`.
    pub(crate) fn forward_request(&self, node: &str, requester: &SessionHandle, text: &str) {
        self.bus.control(
            node,
            Control::Request {
                tenant: requester.tenant().to_owned(),
                user: requester.user_id().to_owned(),
                session: requester.session_id(),
                text: text.to_owned(),
            },
        );
    }

    /// Tells `node` that `receiver` acknowledged command `relay_id`.
    pub(crate) fn forward_cmd_ack(&self, node: &str, receiver: &SessionHandle, relay_id: u64) {
        self.bus.control(
            node,
            Control::CmdAck {
                tenant: receiver.tenant().to_owned(),
                user: receiver.user_id().to_owned(),
                session: receiver.session_id(),
                relay_id,
            },
        );
    }

    /// Serves the node's part of the cluster until shutdown: the inbox, the directory's
    /// events, the heartbeat; subscribes again when the subscription is lost.
    pub(crate) async fn run(
        self: Arc<Node>,
        shared: Arc<Shared>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut conn = self.conn.clone();
        let mut tick = tokio::time::interval(self.heartbeat / CHECKS_PER_BEAT);
        // Set when this node's sessions must be announced again (until that succeeds).
        let mut announce = false;
        // The sessions of other nodes whose forwarded requests this node serves.
        let mut delegates = Delegates::default();
        // Links: frames, stops and acknowledgements are handled by the link's task; the
        // requests, which need the delegates, come here.
        let (requests_tx, mut requests) = tokio::sync::mpsc::unbounded_channel();
        let listener = self.link_listener.lock().unwrap().take();
        let accepting = listener.map(|listener| {
            let (node, shared) = (self.clone(), shared.clone());
            let deliver = Arc::new(move |message: NodeMessage| {
                if let Some(request) = node.handle(&shared, message) {
                    let _ = requests_tx.send(request);
                }
            });
            tokio::spawn(links::accept(listener, self.secret.clone(), deliver))
        });
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        'connect: loop {
            let subscribed = async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(inbox(&self.id)).await?;
                pubsub.subscribe(DIRECTORY_CHANNEL).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            let pubsub = tokio::select! {
                pubsub = subscribed => pubsub,
                _ = shutdown_requested(&mut shutdown) => break 'connect,
            };
            let mut messages = match pubsub {
                Ok(pubsub) => pubsub.into_on_message(),
                Err(e) => {
                    warn!("cluster: cannot subscribe in Redis: {e}; trying again");
                    tokio::select! {
                        _ = tokio::time::sleep(self.heartbeat) => continue 'connect,
                        _ = shutdown_requested(&mut shutdown) => break 'connect,
                    }
                }
            };
            // Subscribed first, then loaded: a change after the load arrives as an event.
            self.load(&shared, &mut conn, false).await;
            // Records of sessions that went offline while this node was not listening are
            // gone from Redis; the others may not have announced theirs again yet.
            let mut reconcile_at = Some(Instant::now() + self.heartbeat * 2);
            loop {
                let reconcile = async {
                    match reconcile_at {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    message = messages.next() => match message {
                        Some(message) => self.on_message(&shared, &message, &mut delegates),
                        None => {
                            warn!("cluster: lost the Redis subscription; subscribing again");
                            continue 'connect;
                        }
                    },
                    _ = tick.tick() => {
                        self.beat(&shared, &mut conn, &mut announce).await;
                        delegates.retain(|h| {
                            self.directory.session(h.tenant(), h.user_id(), h.session_id()).is_some()
                        });
                    }
                    Some(request) = requests.recv() => {
                        self.serve_request(&shared, request, &mut delegates)
                    }
                    _ = reconcile => {
                        reconcile_at = None;
                        self.load(&shared, &mut conn, true).await;
                    }
                    _ = shutdown_requested(&mut shutdown) => break 'connect,
                }
            }
        }
        if let Some(accepting) = accepting {
            accepting.abort();
        }
        let _: Result<(), _> = redis::cmd("DEL")
            .arg(alive_key(&self.id))
            .query_async(&mut conn)
            .await;
    }

    fn on_message(&self, shared: &Arc<Shared>, message: &redis::Msg, delegates: &mut Delegates) {
        let payload = message.get_payload_bytes();
        if message.get_channel_name() == DIRECTORY_CHANNEL {
            match DirEvent::decode(payload) {
                Some(event) => self.on_event(shared, event),
                None => warn!("cluster: an unknown directory event ignored"),
            }
            return;
        }
        match NodeMessage::decode(payload) {
            Some(message) => {
                if let Some(request) = self.handle(shared, message) {
                    self.serve_request(shared, request, delegates);
                }
            }
            None => warn!("cluster: an unknown node message ignored"),
        }
    }

    /// Handles a message from another node; a forwarded request is given back (it needs
    /// the delegates: [`Node::serve_request`]).
    fn handle(&self, shared: &Shared, message: NodeMessage) -> Option<Forwarded> {
        match message {
            NodeMessage::Deliver {
                session,
                lane,
                message,
            } => {
                if let Some(link) = self.directory.own_link(session) {
                    let _ = link.send_in_lane(lane, message);
                }
            }
            NodeMessage::Control(Control::Stop {
                session,
                how,
                code,
                reason,
            }) => {
                if let Some(link) = self.directory.own_link(session) {
                    link.stop(stop_of(how, code, reason));
                }
            }
            NodeMessage::Control(Control::CmdAck {
                tenant,
                user,
                session,
                relay_id,
            }) => {
                if let Some(receiver) = self.directory.session(&tenant, &user, session) {
                    shared.relay.cmd_ack(&receiver, relay_id);
                }
            }
            NodeMessage::Media {
                tenant,
                user,
                session,
                frame,
            } => self.on_media(shared, &tenant, &user, session, &frame),
            NodeMessage::Control(Control::QueueCall {
                tenant,
                caller,
                callee,
                placed,
            }) => self.on_queue_call(
                shared,
                &tenant,
                (&caller.0, caller.1),
                (&callee.0, callee.1),
                placed,
            ),
            NodeMessage::Control(Control::Queuing { session, queuing }) => {
                self.on_queuing(session, queuing)
            }
            NodeMessage::Control(Control::RoomRoute {
                tenant,
                user,
                session,
                home,
            }) => self.set_route(&tenant, &user, session, home),
            NodeMessage::Control(Control::Request {
                tenant,
                user,
                session,
                text,
            }) => {
                return Some(Forwarded {
                    tenant,
                    user,
                    session,
                    text,
                })
            }
        }
        None
    }

    /// Gives a request another node forwarded to the requester's delegate (see
    /// [`delegates`]).
    fn serve_request(&self, shared: &Arc<Shared>, request: Forwarded, delegates: &mut Delegates) {
        let Forwarded {
            tenant,
            user,
            session,
            text,
        } = request;
        let Some(requester) = self.directory.session(&tenant, &user, session) else {
            debug!(
                session,
                "cluster: a forwarded request of a session gone ignored"
            );
            return;
        };
        // Entering or leaving a room here tells its node where its room requests go (see
        // `NodeRooms`).
        delegates.serve(shared, requester, text);
    }

    fn on_event(&self, shared: &Shared, event: DirEvent) {
        if event.node() == &*self.id {
            return;
        }
        match &event {
            DirEvent::Online {
                node,
                tenant,
                user,
                nickname,
                session,
                version,
                dnd,
                call,
                service,
                meeting,
            } => {
                // A login anywhere in the cluster makes the user known here too (a call to
                // them while offline is ERR_OFFLINE, not ERR_USER_NOT_FOUND).
                shared.remember_user(tenant, user);
                self.directory.apply_login(RemoteLogin {
                    node,
                    tenant,
                    user,
                    nickname,
                    session: *session,
                    version: *version,
                    presence: Presence {
                        dnd: *dnd,
                        in_call: *call,
                        in_service: *service,
                        in_meeting: *meeting,
                    },
                })
            }
            DirEvent::Offline {
                tenant,
                user,
                session,
                ..
            } => {
                if let Some(handle) = self.directory.session(tenant, user, *session) {
                    crate::session::take_offline(shared, &handle);
                }
            }
            DirEvent::Dnd { .. } | DirEvent::Activity { .. } => {
                self.directory.apply_presence(&event)
            }
            DirEvent::Service {
                node,
                agent,
                customer,
                ..
            } => shared
                .queues
                .service_elsewhere(&Arc::from(node.as_str()), *agent, *customer),
            DirEvent::MeetingDestroyed {
                tenant, meet_id, ..
            } => shared
                .rooms
                .meeting_destroyed(&*shared.directory, tenant, *meet_id),
            DirEvent::NetDisk { tenant, .. } => {
                let (netdisk, tenant) = (shared.netdisk.clone(), tenant.clone());
                tokio::spawn(async move { netdisk.reload(&tenant).await });
            }
        }
    }

    /// Loads the other nodes' sessions from their records; with `reconcile`, also takes
    /// offline the mirrored sessions no record lists any more.
    async fn load(&self, shared: &Shared, conn: &mut ConnectionManager, reconcile: bool) {
        let loaded = async {
            let tenants: Vec<String> = redis::cmd("SMEMBERS")
                .arg(TENANTS_KEY)
                .query_async(conn)
                .await?;
            let mut records = Vec::new();
            for tenant in tenants {
                let users: Vec<(String, String)> = redis::cmd("HGETALL")
                    .arg(wire::online_key(&tenant))
                    .query_async(conn)
                    .await?;
                records.push((tenant, users));
            }
            Ok::<_, redis::RedisError>(records)
        };
        let records = match loaded.await {
            Ok(records) => records,
            Err(e) => {
                warn!("cluster: cannot load the online users from Redis: {e}");
                return;
            }
        };
        let mut listed = HashSet::new();
        for (tenant, users) in &records {
            for (user, value) in users {
                let Some((version, record)) = parse_record(value) else {
                    continue;
                };
                let Ok(session) = record.session.parse() else {
                    continue;
                };
                listed.insert(session);
                shared.remember_user(tenant, user);
                self.directory.apply_login(RemoteLogin {
                    node: &record.node,
                    tenant,
                    user,
                    nickname: &record.nickname,
                    session,
                    version,
                    presence: Presence {
                        dnd: record.dnd,
                        in_call: record.call,
                        in_service: record.service,
                        in_meeting: record.meeting,
                    },
                });
            }
        }
        if reconcile {
            let gone = directory::missing_from(self.directory.all_remote(), &listed);
            for handle in gone {
                debug!(
                    session = handle.session_id(),
                    "cluster: no longer listed in Redis: offline"
                );
                crate::session::take_offline(shared, &handle);
            }
        }
    }

    /// Renews this node's liveness key and takes the sessions of dead nodes offline.
    async fn beat(&self, shared: &Shared, conn: &mut ConnectionManager, announce: &mut bool) {
        let ttl = (self.heartbeat * ALIVE_TENTHS / 10).as_millis() as u64;
        let mut others = self.directory.remote_nodes();
        // A room's home or a queue engine's may have no users of its own left: watched too.
        for home in self
            .route_homes()
            .into_iter()
            .chain(self.queue_homes_in_use())
        {
            if !others.contains(&home) {
                others.push(home);
            }
        }
        let mut pipe = redis::pipe();
        pipe.exists(alive_key(&self.id));
        pipe.cmd("SET")
            .arg(alive_key(&self.id))
            .arg(&self.advertise)
            .arg("PX")
            .arg(ttl)
            .ignore();
        for node in &others {
            pipe.exists(alive_key(node));
        }
        let alive: Vec<bool> = match pipe.query_async(conn).await {
            Ok(alive) => alive,
            Err(e) => {
                warn!("cluster: heartbeat to Redis failed: {e}");
                return;
            }
        };
        if alive.first() == Some(&false) {
            warn!("cluster: this node's liveness key had expired; announcing its sessions again");
            *announce = true;
            // Redis may have lost everything: the secret the links open with too.
            let _: redis::RedisResult<Option<String>> = redis::cmd("SET")
                .arg(wire::SECRET_KEY)
                .arg(&*self.secret)
                .arg("NX")
                .query_async(conn)
                .await;
        }
        if *announce {
            *announce = !self.directory.announce_again();
        }
        for (node, alive) in others.iter().zip(alive.iter().skip(1)) {
            if *alive {
                continue;
            }
            let sessions = self.directory.sessions_of(node);
            warn!(
                node = &**node,
                sessions = sessions.len(),
                "cluster: node missed its heartbeats: its users are offline"
            );
            for handle in sessions {
                crate::session::take_offline(shared, &handle);
                self.directory.forget_record(&handle);
            }
            self.home_died(shared, node);
            self.queue_home_died(shared, node).await;
            if let Some(links) = self.bus.links() {
                links.forget(node);
            }
        }
    }
}

/// Binds the listener for links: `link_listen`, or the host of `advertise` on any port.
/// Returns it with the address other nodes use.
async fn bind_links(config: &ClusterConfig) -> Result<(tokio::net::TcpListener, String), String> {
    let host = match config.advertise.rsplit_once(':') {
        Some((host, _)) => host.to_owned(),
        None => config.advertise.clone(),
    };
    let wanted = config
        .link_listen
        .clone()
        .unwrap_or_else(|| format!("{host}:0"));
    let listener = tokio::net::TcpListener::bind(&wanted)
        .await
        .map_err(|e| format!("cluster: cannot listen for links on {wanted}: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("cluster: link listener: {e}"))?
        .port();
    Ok((listener, format!("{host}:{port}")))
}

/// The cluster's secret (made by the first node).
async fn cluster_secret(conn: &mut ConnectionManager) -> redis::RedisResult<Arc<str>> {
    let mut bytes = [0u8; 24];
    getrandom::getrandom(&mut bytes).expect("the system's random source");
    let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let _: Option<String> = redis::cmd("SET")
        .arg(wire::SECRET_KEY)
        .arg(fresh)
        .arg("NX")
        .query_async(conn)
        .await?;
    let secret: String = redis::cmd("GET")
        .arg(wire::SECRET_KEY)
        .query_async(conn)
        .await?;
    Ok(Arc::from(secret))
}

/// `redis_url` without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_not_shown() {
        assert_eq!(redacted("redis://:s3cret@db:6379/0"), "redis://…@db:6379/0");
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
