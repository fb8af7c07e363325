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
