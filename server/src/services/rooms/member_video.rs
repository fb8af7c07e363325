//! One member's side of a room's video: its cameras, what it watches, and what it waits
//! for. Kept apart from the relay ([`super::video`]), which works on whole rooms, so that
//! a member ([`super::room::Member`]) holds this without depending on the relay.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use crvideo_proto::MemberVideos;

/// (sender's user ID, its camera).
pub(super) type VideoKey = (String, u8);

/// One member's side of the room's video.
#[derive(Default)]
pub(super) struct MemberVideo {
    /// Its cameras.
    pub cams: MemberVideos,
    /// The videos it watches as `userID.videoID`; None: every one.
    pub watch: Option<HashSet<String>>,
    /// Videos it gets nothing of until their next key frame.
    pub waiting: HashSet<VideoKey>,
    /// When each of its cameras was last asked for a key frame.
    pub asked: HashMap<u8, Instant>,
}

impl MemberVideo {
    pub fn watches(&self, user_id: &str, video_id: u8) -> bool {
        self.watch
            .as_ref()
            .is_none_or(|w| w.contains(&format!("{user_id}.{video_id}")))
    }
}
