//! What nodes say to each other through Redis: the messages of a node's inbox and the
//! directory's events, and the records of the online users kept in Redis.
//!
//! A message is one Redis pub/sub payload. Frames for a session (the bulk of the traffic)
//! are `D`, a fixed header and the frame's bytes, so a relayed chunk is never re-encoded;
//! everything else is `J` and a JSON object.

use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::{Bytes, Message};

use crate::directory::outbound::{Lane, SessionId, Stop};
use crate::directory::Activity;

/// Bits of a session or relay ID below its node's tag (see [`crate::cluster`]).
pub const TAG_SHIFT: u32 = 40;

/// The tag of the node that made `id`.
pub fn tag_of(id: u64) -> u64 {
    id >> TAG_SHIFT
}

/// A node's inbox: the pub/sub channel its messages are published to.
pub fn inbox(node: &str) -> String {
    format!("crv:node:{node}:inbox")
}

/// The channel of the directory's events (every node listens).
pub const DIRECTORY_CHANNEL: &str = "crv:dir";

/// The key that says a node is alive: the address of its links, expiring two and a half
/// heartbeats after its last renewal.
pub fn alive_key(node: &str) -> String {
    format!("crv:node:{node}:alive")
}

/// The hash of a tenant's online users: user ID → [`Record`] with its version.
pub fn online_key(tenant: &str) -> String {
    format!("crv:online:{tenant}")
}

/// The node that holds object `id` of `kind` (`call`, `transfer`) of `tenant`.
pub fn object_key(tenant: &str, kind: &str, id: &str) -> String {
    format!("crv:obj:{tenant}:{kind}:{id}")
}

/// The set of tenants that ever had a user online in the cluster.
pub const TENANTS_KEY: &str = "crv:tenants";
/// The counter that orders logins (a relogin wins over every earlier login of its user).
pub const VERSION_KEY: &str = "crv:version";
/// The secret that opens a link between nodes (see [`crate::cluster::links`]).
pub const SECRET_KEY: &str = "crv:secret";
/// The counter a node takes its tag from (the high bits of its session and relay IDs).
pub const TAG_KEY: &str = "crv:tag";

/// A message to one node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeMessage {
    /// A frame for one of the node's sessions, in this lane.
    Deliver {
        session: SessionId,
        lane: Lane,
        message: Message,
    },
    /// A media frame (video, audio, screen) a session of the sending node sent to the room
    /// it is in, which this node is the home of.
    Media {
        tenant: String,
        user: String,
        session: SessionId,
        frame: Bytes,
    },
    /// Anything else.
    Control(Control),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Control {
    /// End one of the node's sessions (see [`Stop`]).
    Stop {
        session: SessionId,
        how: StopHow,
        code: u16,
        reason: String,
    },
    /// A request of a session of another node, about state this node holds (see
    /// `crate::session::forwarding`), as the client sent it.
    Request {
        tenant: String,
        user: String,
        session: SessionId,
        text: String,
    },
    /// A user of another node acknowledges a command this node relayed (the relay id
    /// carries this node's tag).
    CmdAck {
        tenant: String,
        user: String,
        session: SessionId,
        relay_id: u64,
    },
    /// A call between two sessions of the tenant was placed (or ended) on the sending node;
    /// the receiving node holds the tenant's queue engine (an agent serving the other
    /// party keeps serving until the call ends).
    QueueCall {
        tenant: String,
        /// (user, session).
        caller: (String, SessionId),
        callee: (String, SessionId),
        placed: bool,
    },
    /// One of the receiving node's sessions, a customer of the engine on the sending node,
    /// waits in a queue now (`queuing`) or no longer does: it was told so.
    Queuing { session: SessionId, queuing: bool },
    /// One of the receiving node's sessions entered a room whose home is `home`
    /// (`None`: it left it): where its room requests and media go from now on.
    RoomRoute {
        tenant: String,
        user: String,
        session: SessionId,
        home: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopHow {
    Close,
    Abort,
    Lost,
}

impl Control {
    pub fn stop(session: SessionId, stop: &Stop) -> Control {
        let (how, code, reason) = match stop {
            Stop::Close { code, reason } => (StopHow::Close, u16::from(*code), reason),
            Stop::Abort { reason } => (StopHow::Abort, 0, reason),
            Stop::Lost { reason } => (StopHow::Lost, 0, reason),
        };
        Control::Stop {
            session,
            how,
            code,
            reason: reason.to_string(),
        }
    }
}

/// Rebuilds the [`Stop`] of a [`Control::Stop`].
pub fn stop_of(how: StopHow, code: u16, reason: String) -> Stop {
    match how {
        StopHow::Close => Stop::close(code.into(), reason),
        StopHow::Abort => Stop::abort(reason),
        StopHow::Lost => Stop::lost(reason),
    }
}

/// A change of the directory, published by the node that made it; every other node
/// applies it to its copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum DirEvent {
    /// A user logged in on `node` (replacing any session of theirs with a lower version).
    Online {
        node: String,
        tenant: String,
        user: String,
        nickname: String,
        session: SessionId,
        version: u64,
        /// Its presence (not idle when a node announces its sessions again).
        #[serde(default)]
        dnd: i32,
        #[serde(default)]
        call: bool,
        #[serde(default)]
        service: bool,
        #[serde(default)]
        meeting: bool,
    },
    /// The session went offline.
    Offline {
        node: String,
        tenant: String,
        user: String,
        session: SessionId,
    },
    /// The session's DND value changed.
    Dnd {
        node: String,
        tenant: String,
        user: String,
        session: SessionId,
        dnd: i32,
    },
    /// The session started or stopped an activity (a call, serving, a meeting).
    Activity {
        node: String,
        tenant: String,
        user: String,
        session: SessionId,
        activity: ActivityName,
        on: bool,
    },
    /// A file of the tenant's net disk was stored or deleted (its rows are shared): the
    /// other nodes read the tenant's list again.
    NetDisk { node: String, tenant: String },
    /// The tenant's queue engine, on `node`, has agent `agent` serving `customer` (None: no
    /// longer serving): calls from others to the agent are refused as busy.
    Service {
        node: String,
        tenant: String,
        agent: SessionId,
        customer: Option<SessionId>,
    },
    /// A meeting was destroyed: whichever node is the home of its room stops it.
    MeetingDestroyed {
        node: String,
        tenant: String,
        meet_id: i32,
    },
}

impl DirEvent {
    /// The node that published it.
    pub fn node(&self) -> &str {
        match self {
            DirEvent::Online { node, .. }
            | DirEvent::Offline { node, .. }
            | DirEvent::Dnd { node, .. }
            | DirEvent::Activity { node, .. }
            | DirEvent::NetDisk { node, .. }
            | DirEvent::MeetingDestroyed { node, .. }
            | DirEvent::Service { node, .. } => node,
        }
    }
}

/// [`Activity`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityName {
    Call,
    Service,
    Meeting,
}

impl From<Activity> for ActivityName {
    fn from(a: Activity) -> ActivityName {
        match a {
            Activity::Call => ActivityName::Call,
            Activity::Service => ActivityName::Service,
            Activity::Meeting => ActivityName::Meeting,
        }
    }
}

impl From<ActivityName> for Activity {
    fn from(a: ActivityName) -> Activity {
        match a {
            ActivityName::Call => Activity::Call,
            ActivityName::Service => Activity::Service,
            ActivityName::Meeting => Activity::Meeting,
        }
    }
}

/// An online user as Redis keeps it (the value of its field in [`online_key`], after
/// `version|`), written by the node that holds the session. The session ID is a string:
/// the scripts that compare it run in Lua, whose numbers are doubles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub node: String,
    pub session: String,
    pub nickname: String,
    #[serde(default)]
    pub dnd: i32,
    #[serde(default)]
    pub call: bool,
    #[serde(default)]
    pub service: bool,
    #[serde(default)]
    pub meeting: bool,
}

/// Splits a stored `version|record` value.
pub fn parse_record(value: &str) -> Option<(u64, Record)> {
    let (version, json) = value.split_once('|')?;
    Some((version.parse().ok()?, serde_json::from_str(json).ok()?))
}

const LANES: [Lane; 5] = [
    Lane::Reply,
    Lane::Pushed,
    Lane::Video,
    Lane::Audio,
    Lane::Bulk,
];

fn lane_byte(lane: Lane) -> u8 {
    LANES.iter().position(|l| *l == lane).unwrap_or(1) as u8
}

/// `D` session(8, big endian) lane(1) text(1) bytes.
const DELIVER_HEADER: usize = 11;
/// `M` session(8, big endian) tenant length(1) tenant user length(1) user frame.
const MEDIA_HEADER: usize = 9;

impl NodeMessage {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            NodeMessage::Deliver {
                session,
                lane,
                message,
            } => {
                let (text, payload): (bool, &[u8]) = match message {
                    Message::Text(t) => (true, t.as_bytes()),
                    Message::Binary(b) => (false, b),
                    _ => (false, &[]),
                };
                let mut out = Vec::with_capacity(DELIVER_HEADER + payload.len());
                out.push(b'D');
                out.extend_from_slice(&session.to_be_bytes());
                out.push(lane_byte(*lane));
                out.push(text as u8);
                out.extend_from_slice(payload);
                out
            }
            NodeMessage::Media {
                tenant,
                user,
                session,
                frame,
            } => {
                let mut out =
                    Vec::with_capacity(MEDIA_HEADER + 2 + tenant.len() + user.len() + frame.len());
                out.push(b'M');
                out.extend_from_slice(&session.to_be_bytes());
                for name in [tenant, user] {
                    // Tenant and user IDs are at most 64 bytes (checked at login).
                    out.push(name.len().min(255) as u8);
                    out.extend_from_slice(&name.as_bytes()[..name.len().min(255)]);
                }
                out.extend_from_slice(frame);
                out
            }
            NodeMessage::Control(control) => {
                let mut out = vec![b'J'];
                serde_json::to_writer(&mut out, control).expect("serializable");
                out
            }
        }
    }

    /// None for a message this version does not know (logged by the caller).
    pub fn decode(bytes: &[u8]) -> Option<NodeMessage> {
        match bytes.first()? {
            b'D' if bytes.len() >= DELIVER_HEADER => {
                let session = u64::from_be_bytes(bytes[1..9].try_into().ok()?);
                let lane = *LANES.get(bytes[9] as usize)?;
                let payload = Bytes::copy_from_slice(&bytes[DELIVER_HEADER..]);
                let message = match bytes[10] {
                    1 => Message::Text(payload.try_into().ok()?),
                    _ => Message::Binary(payload),
                };
                Some(NodeMessage::Deliver {
                    session,
                    lane,
                    message,
                })
            }
            b'M' if bytes.len() >= MEDIA_HEADER => {
                let session = u64::from_be_bytes(bytes[1..9].try_into().ok()?);
                let mut rest = &bytes[MEDIA_HEADER..];
                let mut name = || {
                    let (&len, tail) = rest.split_first()?;
                    let text = std::str::from_utf8(tail.get(..len as usize)?).ok()?;
                    rest = &tail[len as usize..];
                    Some(text.to_owned())
                };
                let (tenant, user) = (name()?, name()?);
                Some(NodeMessage::Media {
                    tenant,
                    user,
                    session,
                    frame: Bytes::copy_from_slice(rest),
                })
            }
            b'J' => serde_json::from_slice(&bytes[1..])
                .ok()
                .map(NodeMessage::Control),
            _ => None,
        }
    }
}

impl DirEvent {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("serializable")
    }

    pub fn decode(bytes: &[u8]) -> Option<DirEvent> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_media_frame_keeps_its_sender_and_bytes() {
        let message = NodeMessage::Media {
            tenant: "acme".into(),
            user: "用户".into(),
            session: (7 << TAG_SHIFT) + 3,
            frame: Bytes::from(vec![9u8, 0, 255, 4]),
        };
        assert_eq!(NodeMessage::decode(&message.encode()), Some(message));
        // Cut short: not a message.
        let mut bytes = NodeMessage::Media {
            tenant: "acme".into(),
            user: "u".into(),
            session: 1,
            frame: Bytes::new(),
        }
        .encode();
        bytes.truncate(12);
        assert_eq!(NodeMessage::decode(&bytes), None);
    }

    #[test]
    fn a_delivered_frame_keeps_its_session_lane_kind_and_bytes() {
        for (lane, message) in [
            (Lane::Reply, Message::text("{\"re\":1}")),
            (Lane::Bulk, Message::binary(vec![0u8, 1, 2, 255])),
            (Lane::Audio, Message::binary(Vec::new())),
        ] {
            let sent = NodeMessage::Deliver {
                session: (7 << 40) + 3,
                lane,
                message,
            };
            assert_eq!(NodeMessage::decode(&sent.encode()), Some(sent));
        }
    }

    #[test]
    fn a_stop_travels_as_the_stop_it_was() {
        let stop = Stop::close(
            tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Normal,
            "logged in elsewhere",
        );
        let sent = NodeMessage::Control(Control::stop(9, &stop));
        let Some(NodeMessage::Control(Control::Stop {
            session,
            how,
            code,
            reason,
        })) = NodeMessage::decode(&sent.encode())
        else {
            panic!("not a stop");
        };
        assert_eq!((session, how, code), (9, StopHow::Close, 1000));
        assert!(
            matches!(stop_of(how, code, reason), Stop::Close { reason, .. } if reason == "logged in elsewhere")
        );
    }

    #[test]
    fn garbage_is_refused_not_misread() {
        assert_eq!(NodeMessage::decode(b""), None);
        assert_eq!(NodeMessage::decode(b"D123"), None);
        assert_eq!(NodeMessage::decode(b"J{not json"), None);
        assert_eq!(NodeMessage::decode(b"X"), None);
        assert_eq!(DirEvent::decode(b"{\"ev\":\"unknown\"}"), None);
    }

    #[test]
    fn a_record_is_read_back_with_its_version() {
        let record = Record {
            node: "n1".into(),
            session: "1099511627777".into(),
            nickname: "Bob | the builder".into(),
            dnd: 1,
            call: true,
            service: false,
            meeting: true,
        };
        let stored = format!("42|{}", serde_json::to_string(&record).unwrap());
        assert_eq!(parse_record(&stored), Some((42, record)));
        assert_eq!(parse_record("x|{}"), None);
    }
}
