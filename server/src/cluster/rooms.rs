//! Meeting rooms across nodes: each live room has one home node, which holds it (members,
//! media status, boards, share, IM) exactly as a single node does.
//!
//! The home is recorded in Redis (`crv:obj:<tenant>:room:<meeting>`) by the first node a
//! member enters through, and taken over by the next node entering when the recorded one
//! is no longer alive. A member connected to another node has a *route* there: its room
//! requests are forwarded to the home and served for its mirror (replies and events come
//! back through its own node, like every frame for a remote session), and its media frames
//! are sent to the home, which fans them out to the members (those of other nodes through
//! their mirrors). The home tells the member's node when its route starts and ends. When a
//! home dies, its members on the surviving nodes get `MeetingDropped` and lose the route;
//! entering again opens the room anew on a surviving node.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tracing::warn;

use super::wire::{self, tag_of, Control, DirEvent, NodeMessage};
use super::Node;
use crvideo_proto::{Event, ServerFrame};

use crate::directory::handle::SessionHandle;
use crate::directory::outbound::SessionId;
use crate::directory::Activity;
use crate::services::rooms::RoomObserver;
use crate::state::Shared;

/// The rooms service's observer in cluster mode: records member counts for every node's
/// meeting list and gives members connected elsewhere their routes. Told under the rooms'
/// lock, before a member's own reply: its node routes the member's next room request to
/// the home even if it comes the moment the reply arrives (a route and a reply go by the
/// same link, in order).
pub(crate) struct NodeRooms(pub(crate) Arc<Node>);

impl RoomObserver for NodeRooms {
    fn count_changed(&self, tenant: &str, meet_id: i32, count: usize) {
        self.0.room_count_changed(tenant, meet_id, count);
    }

    fn membership_changed(&self, member: &SessionHandle, in_room: bool) {
        if member.is_remote() {
            self.0.route_changed(member, in_room);
        }
    }
}

/// Where a session's room requests and media go: the room's home.
pub(crate) struct Route {
    home: Arc<str>,
    member: SessionHandle,
}

/// The hash of a tenant's live rooms: meeting → `home|members`.
fn room_counts_key(tenant: &str) -> String {
    format!("crv:rooms:{tenant}")
}

/// How long a room's home stays recorded without an entry (a day, as other objects; each
/// entry renews it).
const ROOM_TTL_SECS: u64 = 86_400;

/// Returns the recorded home if it is alive (renewing the record), else records this node.
/// A TTL of 0 keeps the record until a take-over.
const CLAIM_HOME: &str = r#"
local home = redis.call('GET', KEYS[1])
local ttl = tonumber(ARGV[2])
if home and home ~= ARGV[1] and redis.call('EXISTS', 'crv:node:' .. home .. ':alive') == 1 then
    if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
    return home
end
if ttl > 0 then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
else
    redis.call('SET', KEYS[1], ARGV[1])
end
return ARGV[1]
"#;

impl Node {
    /// The home of meeting `meet_id`'s room: the live node recorded for it, or this node,
    /// now recorded. If Redis cannot be asked, this node (a room then lives where it can).
    pub(crate) async fn claim_room(&self, tenant: &str, meet_id: i32) -> Arc<str> {
        let key = wire::object_key(tenant, "room", &meet_id.to_string());
        self.claim_home(&key, ROOM_TTL_SECS).await
    }

    /// The live node recorded under `key`, or this node, now recorded there (a home: of a
    /// room, of a tenant's queue engine) for `ttl_secs` (0: until taken over; a live
    /// home's record is renewed). If Redis cannot be asked, this node.
    pub(crate) async fn claim_home(&self, key: &str, ttl_secs: u64) -> Arc<str> {
        debug_assert_eq!(wire::alive_key("x"), "crv:node:x:alive", "the script's key");
        let mut conn = self.conn.clone();
        // EVAL with the script's text, as the directory's claims.
        let home: redis::RedisResult<String> = redis::cmd("EVAL")
            .arg(CLAIM_HOME)
            .arg(1)
            .arg(key)
            .arg(&*self.id)
            .arg(ttl_secs)
            .query_async(&mut conn)
            .await;
        match home {
            Ok(home) if home == *self.id => self.id.clone(),
            Ok(home) => Arc::from(home),
            Err(e) => {
                warn!("cluster: cannot look up the home at {key}: {e}");
                self.id.clone()
            }
        }
    }

    /// The home node of the room session `session` (of this node) is in, if another node.
    pub(crate) fn room_route(&self, session: SessionId) -> Option<Arc<str>> {
        let routes = self.routes.lock().unwrap();
        routes.get(&session).map(|route| route.home.clone())
    }

    /// Forgets the route of a session that went offline.
    pub(crate) fn forget_route(&self, session: SessionId) {
        self.routes.lock().unwrap().remove(&session);
    }

    /// Sends `member`'s media frame to `home`.
    pub(crate) fn forward_media(&self, home: &str, member: &SessionHandle, frame: Bytes) {
        let message = NodeMessage::Media {
            tenant: member.tenant().to_owned(),
            user: member.user_id().to_owned(),
            session: member.session_id(),
            frame,
        };
        self.bus.to_node(home, message.encode());
    }

    /// `member` (a mirror) entered or left a room here: tells its node where its room
    /// requests go.
    fn route_changed(&self, member: &SessionHandle, in_room: bool) {
        let Some(node) = self.directory.node_of_tag(tag_of(member.session_id())) else {
            return;
        };
        let home = in_room.then(|| self.id.to_string());
        self.bus.control(
            &node,
            Control::RoomRoute {
                tenant: member.tenant().to_owned(),
                user: member.user_id().to_owned(),
                session: member.session_id(),
                home,
            },
        );
    }

    /// A route for one of this node's sessions (see [`Node::route_changed`]).
    pub(crate) fn set_route(
        &self,
        tenant: &str,
        user: &str,
        session: SessionId,
        home: Option<String>,
    ) {
        let Some(member) = self.directory.session(tenant, user, session) else {
            return; // gone meanwhile
        };
        let mut routes = self.routes.lock().unwrap();
        match home {
            Some(home) => routes.insert(
                session,
                Route {
                    home: Arc::from(home),
                    member,
                },
            ),
            None => routes.remove(&session),
        };
    }

    /// A media frame from a member of a room this node is the home of.
    pub(crate) fn on_media(
        &self,
        shared: &Shared,
        tenant: &str,
        user: &str,
        session: SessionId,
        frame: &[u8],
    ) {
        let Some(member) = self.directory.session(tenant, user, session) else {
            return; // offline meanwhile
        };
        crate::session::relay_media(shared, &member, frame);
    }

    /// Tells every node that meeting `meet_id` was destroyed (its home stops the room).
    pub(crate) fn meeting_destroyed(&self, tenant: &str, meet_id: i32) {
        self.bus.event(&DirEvent::MeetingDestroyed {
            node: self.id.to_string(),
            tenant: tenant.to_owned(),
            meet_id,
        });
    }

    /// Records the member count of a room this node is the home of (0: closed), for the
    /// meeting lists of every node.
    pub(crate) fn room_count_changed(&self, tenant: &str, meet_id: i32, count: usize) {
        let key = room_counts_key(tenant);
        let mut cmd = if count == 0 {
            redis::cmd("HDEL")
        } else {
            redis::cmd("HSET")
        };
        cmd.arg(key).arg(meet_id);
        if count > 0 {
            cmd.arg(format!("{}|{count}", self.id));
        }
        self.bus.command(cmd);
    }

    /// The member counts of `tenant`'s live rooms on other nodes (by meeting), as their
    /// homes last recorded them; rooms of nodes no longer alive are left out.
    pub(crate) async fn room_counts(&self, tenant: &str) -> HashMap<i32, usize> {
        let mut conn = self.conn.clone();
        let all: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(room_counts_key(tenant))
            .query_async(&mut conn)
            .await
            .inspect_err(|e| warn!("cluster: cannot read the rooms' member counts: {e}"))
            .unwrap_or_default();
        let parsed: Vec<(i32, &str, usize)> = (all.iter())
            .filter_map(|(meeting, value)| {
                let (node, count) = value.rsplit_once('|')?;
                Some((meeting.parse().ok()?, node, count.parse().ok()?))
            })
            .filter(|(_, node, _)| **node != *self.id)
            .collect();
        let mut nodes: Vec<&str> = parsed.iter().map(|(_, node, _)| *node).collect();
        nodes.sort_unstable();
        nodes.dedup();
        let mut pipe = redis::pipe();
        for node in &nodes {
            pipe.exists(wire::alive_key(node));
        }
        let alive: Vec<bool> = if nodes.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut conn).await.unwrap_or_default()
        };
        let alive: Vec<&str> = (nodes.iter().zip(alive))
            .filter(|(_, alive)| *alive)
            .map(|(node, _)| *node)
            .collect();
        parsed
            .into_iter()
            .filter(|(_, node, _)| alive.contains(node))
            .map(|(meeting, _, count)| (meeting, count))
            .collect()
    }

    /// The nodes this node's sessions have routes to.
    pub(crate) fn route_homes(&self) -> Vec<Arc<str>> {
        let routes = self.routes.lock().unwrap();
        let mut homes: Vec<Arc<str>> = routes.values().map(|r| r.home.clone()).collect();
        homes.sort();
        homes.dedup();
        homes
    }

    /// `home` died: its rooms are gone. Each of this node's sessions routed there gets
    /// `MeetingDropped` and is no longer in a meeting.
    pub(crate) fn home_died(&self, shared: &Shared, home: &str) {
        let dropped: Vec<SessionHandle> = {
            let mut routes = self.routes.lock().unwrap();
            let mut dropped = Vec::new();
            routes.retain(|_, route| {
                let stays = *route.home != *home;
                if !stays {
                    dropped.push(route.member.clone());
                }
                stays
            });
            dropped
        };
        for member in dropped {
            let _ = member.send(&ServerFrame::Event(Event::MeetingDropped));
            shared
                .directory
                .set_activity(&member, Activity::Meeting, false);
        }
    }
}
