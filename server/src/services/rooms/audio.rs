//! Audio in a room: the relay of a member's Opus packets to every other member.
//!
//! The server never decodes or mixes: each receiving SDK keeps a jitter buffer per speaker
//! and mixes itself, so one member's packets go out unchanged (named with the speaker) to
//! all the others. A receiver whose media lane is full, or who is so far behind that the
//! packet waited 200 ms in its lane, loses the packet (its SDK conceals it); nobody else
//! waits for it. The sound of the media a member plays goes the same way, from the player.

use crvideo_proto::data::AudioFrame;
use crvideo_proto::MEDIA_OPEN;
use tokio_tungstenite::tungstenite::{Bytes, Message};

use super::room::Room;

impl Room {
    /// Member `from` sends a packet of its microphone (or of the media it plays): to every
    /// other member. False if it is not relayed (the sender's mic is not open, or it is not
    /// the player).
    pub fn relay_audio(&mut self, from: usize, frame: &AudioFrame<'_>) -> bool {
        let sender = &self.members[from].info;
        let allowed = match frame.media {
            true => (self.signals.media.as_ref()).is_some_and(|m| m.user_id == sender.user_id),
            false => sender.audio_status == MEDIA_OPEN,
        };
        if !allowed {
            return false;
        }
        let relayed = AudioFrame {
            user: &sender.user_id,
            ..*frame
        };
        let message = Message::Binary(Bytes::from(relayed.encode()));
        for (i, member) in self.members.iter().enumerate() {
            if i != from {
                // A full or slow lane loses the packet for that member alone.
                let _ = member.handle.send_audio(message.clone());
            }
        }
        true
    }
}
