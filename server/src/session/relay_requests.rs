//! The transparent channel as a session sees it: its binary frames (commands, transfer
//! chunks), and how its requests are answered. The state is in [`crate::services::relay`].
//!
//! One-way messages (credit, end of data, abort, command acknowledgement) are normally sent
//! with id 0 and then never answered, errors included (they are logged at debug). Sent with
//! an id they are answered like any request: 0, or `TRANSID_INVALID` when they did not apply.

use crvideo_proto::data::{decode_data, DataFrame};
use crvideo_proto::{ErrorCode, Reply};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Bytes;
use tracing::{debug, warn};

use super::{Phase, Session};
use crate::directory::handle::SessionHandle;
use crate::directory::outbound::Stop;
use crate::state::Shared;

impl Session {
    /// Handles one binary frame: a command, a transfer chunk or a video frame from a
    /// logged-in session.
    /// Anything else (a frame before login, one that does not decode) ends the session.
    pub(crate) fn on_binary(&mut self, data: Bytes) -> Option<Stop> {
        let Phase::LoggedIn(handle) = &self.phase else {
            warn!(
                peer = %self.peer(),
                session = self.id(),
                "closing: binary frame ({} bytes) before login",
                data.len()
            );
            return Some(Stop::close(CloseCode::Policy, "binary frame before login"));
        };
        let handle = &handle.clone();
        let shared = &self.shared.clone();
        match decode_data(&data) {
            Err(e) => {
                warn!(
                    peer = %self.peer(),
                    session = self.id(),
                    "closing: {e} ({} bytes)",
                    data.len()
                );
                Some(Stop::close(CloseCode::Policy, "bad binary frame"))
            }
            Ok(DataFrame::Command { id, peer, payload }) => {
                if !self.commands.take() {
                    debug!(
                        session = self.id(),
                        user = handle.user_id(),
                        "command {id} refused: over the command rate limit"
                    );
                    return self.reply(Reply::err(id, ErrorCode::TooFrequent));
                }
                match shared
                    .relay
                    .command(&*shared.directory, handle, id, peer, payload)
                {
                    Ok(()) => None,
                    Err(code) => {
                        debug!(
                            session = self.id(),
                            user = handle.user_id(),
                            "command {id} ({} bytes) refused: {code}",
                            payload.len()
                        );
                        self.reply(Reply::err(id, code))
                    }
                }
            }
            // A member of a room on another node: the frame goes to the room's home.
            Ok(DataFrame::Screen(_) | DataFrame::Audio(_) | DataFrame::Video(_))
                if self.media_forwarded(handle, &data) =>
            {
                None
            }
            Ok(DataFrame::Screen(frame)) => {
                if !shared.rooms.relay_screen(handle, &frame) {
                    debug!(
                        session = self.id(),
                        user = handle.user_id(),
                        "dropping a screen frame: not the sharer of a room"
                    );
                }
                None
            }
            Ok(DataFrame::Audio(frame)) => {
                if !shared.rooms.relay_audio(handle, &frame) {
                    // Normal for packets in flight when the mic is closed or the member left.
                    debug!(
                        session = self.id(),
                        user = handle.user_id(),
                        "dropping an audio packet: mic not open in a room"
                    );
                }
                None
            }
            Ok(DataFrame::Video(frame)) => {
                if !shared.rooms.relay_video(handle, &frame) {
                    // Normal for frames in flight when the video is closed or the member left.
                    debug!(
                        session = self.id(),
                        user = handle.user_id(),
                        "dropping a frame of camera {}: not an open video in a room",
                        frame.video_id
                    );
                }
                None
            }
            Ok(DataFrame::DiskChunk {
                key,
                offset,
                payload,
            }) => {
                let header = data.len() - payload.len();
                if !shared
                    .netdisk
                    .chunk(handle, key, offset, data.slice(header..))
                {
                    // Normal for frames in flight when an upload is cancelled.
                    debug!(
                        session = self.id(),
                        user = handle.user_id(),
                        "dropping a disk frame (offset {offset}): not an upload of this session"
                    );
                }
                None
            }
            Ok(DataFrame::Chunk {
                transfer_id,
                offset,
                ..
            }) => {
                if !shared.relay.chunk(handle, transfer_id, data.clone()) {
                    // Normal for chunks in flight when a transfer ends.
                    debug!(
                        session = self.id(),
                        user = handle.user_id(),
                        "dropping a chunk (offset {offset}) of transfer {transfer_id:?}: not a transfer this session sends"
                    );
                }
                None
            }
        }
    }

    /// Answers transparent-channel request `re` (`op`) of `me` like [`Session::acked`], and
    /// logs a refusal.
    pub(crate) fn relayed(
        &self,
        re: u64,
        me: &SessionHandle,
        op: &str,
        serve: impl FnOnce(&mut dyn FnMut()) -> Result<(), ErrorCode>,
    ) -> Option<Stop> {
        self.acked(re, |ack| {
            serve(ack).inspect_err(|code| {
                debug!(
                    session = self.id(),
                    user = me.user_id(),
                    "{op} (id {re}) refused: {code}"
                )
            })
        })
    }
}

/// The result of a one-way message: `ack` if it applied, else `TRANSID_INVALID`.
pub(crate) fn one_way(applied: bool, ack: impl FnOnce()) -> Result<(), ErrorCode> {
    if applied {
        ack();
        Ok(())
    } else {
        Err(ErrorCode::TransIdInvalid)
    }
}

impl Session {
    /// Sends a media frame of `handle` to the home of its room if that is another node:
    /// true if sent.
    fn media_forwarded(&self, handle: &SessionHandle, data: &Bytes) -> bool {
        let Some(node) = &self.shared.cluster else {
            return false;
        };
        if self.shared.rooms.is_member(handle.session_id()) {
            return false;
        }
        match node.room_route(handle.session_id()) {
            Some(home) => {
                node.forward_media(&home, handle, data.clone());
                true
            }
            None => false,
        }
    }
}

/// A media frame a member of a room on this node sent through another node (its own):
/// relayed to the room as if it had come from the member's connection.
pub(crate) fn relay_media(shared: &Shared, member: &SessionHandle, data: &[u8]) {
    let relayed = match decode_data(data) {
        Ok(DataFrame::Screen(frame)) => shared.rooms.relay_screen(member, &frame),
        Ok(DataFrame::Audio(frame)) => shared.rooms.relay_audio(member, &frame),
        Ok(DataFrame::Video(frame)) => shared.rooms.relay_video(member, &frame),
        _ => false,
    };
    if !relayed {
        debug!(
            user = member.user_id(),
            "dropping a forwarded media frame: not an open medium in a room"
        );
    }
}
