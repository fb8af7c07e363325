//! Binary frames: the transparent channel's commands and bulk-transfer chunks, and video.
//!
//! Payloads travel as raw bytes (no base64); a short binary header says what they are.
//! Integers are big-endian.
//!
//! ```text
//! command: 0x01 | id: u64 | peer_len: u8 | peer (UTF-8) | payload
//! chunk:   0x02 | id_len: u8 | transfer_id (ASCII) | offset: u64 | payload
//! video:   0x03 | flags: u8 | video_id: u8 | time_ms: i64 | user_len: u8 | user | payload
//! screen:  0x04 | flags: u8 | left, top, width, height: u16 | time_ms: i64 | user_len: u8 | user | payload
//! audio:   0x05 | level: u8 | seq: u32 | time_ms: i64 | user_len: u8 | user | payload
//! disk:    0x06 | key_len: u8 | key (ASCII) | offset: u64 | payload
//! media audio: 0x07 | the audio frame's fields
//! ```
//!
//! A command from a client names the target in `peer` and its request id in `id` (the
//! server answers with a [`Reply`](crate::Reply) to it once the target's SDK acknowledged,
//! or with an error). Relayed to the target, `peer` is the source and `id` the server's relay
//! id, which the target acknowledges with [`Request::CmdAck`](crate::Request::CmdAck).
//! A chunk is relayed unchanged from the sender to the receiver of its transfer.
//!
//! A video frame carries one encoded picture (H.264 Annex B) of the sender's camera
//! `video_id`, stamped with the sender's time; bit 0 of `flags` marks a key frame (decodable
//! alone). From a client `user` is empty; relayed, the server names the sender there.
//!
//! A picture larger than one frame may carry (the server's `max_frame_bytes`: a detailed
//! 1080p screen is over 1 MiB) goes as consecutive pieces ([`Piece`], [`pieces`]), each a
//! frame with the same header: bit 1 of `flags` says more pieces follow, bit 2 that the frame
//! continues the previous one's picture (neither: the whole picture). The receiver joins
//! them; the server relays each piece as a frame and starts a receiver that waits for a key
//! frame only at a key picture's first piece.
//!
//! A screen frame is the same for the shared screen, plus the area that changed since the
//! sharer's previous picture (the whole picture for a key frame sent on request).
//!
//! An audio frame carries one Opus packet (20 ms of 16 kHz mono) of the sender's
//! microphone: `seq` counts the sender's packets (a gap is a lost packet, concealed by the
//! receiver), `level` is the sender's speaking level of those 20 ms (0–10, what
//! `MicEnergyUpdate` reports), `time_ms` the sender's clock. Always whole: never in pieces.
//!
//! Shared media playback (a member plays a file to the meeting) rides on the same frames:
//! its pictures are video frames of the player's camera [`MEDIA_VIDEO`], stamped with the
//! media's position in ms, and its sound is audio frames of kind 0x07 (a media audio
//! frame: the same fields, `level` 0, `time_ms` the media's position), mixed by receivers
//! as a source of its own beside the player's microphone.
//!
//! A disk frame carries `payload` at `offset` of a net-disk file being uploaded (client to
//! server) or downloaded (server to client); `key` is the key part of its file ID (see
//! [`crate::netdisk`]).

const COMMAND: u8 = 0x01;
const CHUNK: u8 = 0x02;
const VIDEO: u8 = 0x03;
const SCREEN: u8 = 0x04;
const AUDIO: u8 = 0x05;
const DISK: u8 = 0x06;
const MEDIA_AUDIO: u8 = 0x07;
/// The video ID of a member's playing media in video frames and key-frame requests
/// (cameras are 1–254, the shared screen 0 in key-frame requests).
pub const MEDIA_VIDEO: u8 = 0xFF;
/// `flags` bit of a video frame that can be decoded alone.
pub const VIDEO_KEY_FRAME: u8 = 0x01;
/// `flags` bit of a piece that more pieces of its picture follow.
const MORE_PIECES: u8 = 0x02;
/// `flags` bit of a piece that continues the previous frame's picture.
const CONTINUED: u8 = 0x04;
/// The `flags` bits a video or screen frame means something by; others are ignored (and
/// sent as 0).
pub const MEDIA_FLAGS: u8 = VIDEO_KEY_FRAME | MORE_PIECES | CONTINUED;
/// The longest header of a video or screen frame (a relayed one names a sender of up to 255
/// bytes): a piece's payload is at most `max_frame_bytes` minus this.
pub const MAX_MEDIA_HEADER: usize = 1 + 1 + 8 + 8 + 1 + 255;

/// Which part of a picture a video or screen frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// The picture starts in this frame.
    pub first: bool,
    /// The picture ends in this frame.
    pub last: bool,
}

impl Piece {
    /// A picture in one frame.
    pub const WHOLE: Piece = Piece {
        first: true,
        last: true,
    };

    fn flags(self, key: bool) -> u8 {
        let mut flags = if key { VIDEO_KEY_FRAME } else { 0 };
        if !self.last {
            flags |= MORE_PIECES;
        }
        if !self.first {
            flags |= CONTINUED;
        }
        flags
    }

    fn of_flags(flags: u8) -> Piece {
        Piece {
            first: flags & CONTINUED == 0,
            last: flags & MORE_PIECES == 0,
        }
    }
}

/// `payload` cut into the pieces of frames of at most `max_frame` bytes (header included);
/// one whole piece when it fits (an empty payload too).
pub fn pieces(payload: &[u8], max_frame: usize) -> Vec<(Piece, &[u8])> {
    let most = max_frame.saturating_sub(MAX_MEDIA_HEADER).max(1);
    if payload.len() <= most {
        return vec![(Piece::WHOLE, payload)];
    }
    let count = payload.len().div_ceil(most);
    (payload.chunks(most).enumerate())
        .map(|(i, part)| {
            let piece = Piece {
                first: i == 0,
                last: i + 1 == count,
            };
            (piece, part)
        })
        .collect()
}

/// A decoded binary frame; borrows from the frame's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFrame<'a> {
    Command {
        id: u64,
        peer: &'a str,
        payload: &'a [u8],
    },
    Chunk {
        transfer_id: &'a str,
        offset: u64,
        payload: &'a [u8],
    },
    Video(VideoFrame<'a>),
    Screen(ScreenFrame<'a>),
    Audio(AudioFrame<'a>),
    /// Bytes of a net-disk file at `offset`.
    DiskChunk {
        key: &'a str,
        offset: u64,
        payload: &'a [u8],
    },
}

/// One Opus packet of a member's microphone (see the module's notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioFrame<'a> {
    /// The speaking level of the packet's 20 ms, 0–10 (a larger value means 10).
    pub level: u8,
    /// The sender's packet counter.
    pub seq: u32,
    /// The sender's clock when the packet's first sample was pushed, in ms.
    pub time_ms: i64,
    /// The speaker (empty in a client's frame).
    pub user: &'a str,
    /// The sound of the media the speaker plays, not its microphone.
    pub media: bool,
    pub payload: &'a [u8],
}

impl AudioFrame<'_> {
    /// The frame as bytes.
    pub fn encode(&self) -> Vec<u8> {
        let seq = self.seq.to_be_bytes();
        media_frame(
            if self.media { MEDIA_AUDIO } else { AUDIO },
            self.level,
            &seq,
            self.time_ms,
            self.user,
            self.payload,
        )
    }
}

/// One encoded picture of the shared screen (see the module's notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenFrame<'a> {
    pub key: bool,
    pub piece: Piece,
    /// The changed area: left, top, width, height.
    pub rect: [u16; 4],
    pub time_ms: i64,
    /// The sharer (empty in a client's frame).
    pub user: &'a str,
    pub payload: &'a [u8],
}

impl ScreenFrame<'_> {
    /// The frame as bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut rect = [0u8; 8];
        for (bytes, v) in rect.chunks_exact_mut(2).zip(self.rect) {
            bytes.copy_from_slice(&v.to_be_bytes());
        }
        let flags = self.piece.flags(self.key);
        media_frame(SCREEN, flags, &rect, self.time_ms, self.user, self.payload)
    }
}

/// One encoded picture of a camera (see the module's notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoFrame<'a> {
    pub key: bool,
    pub piece: Piece,
    pub video_id: u8,
    /// The sender's timestamp of the picture, in ms.
    pub time_ms: i64,
    /// The sender (empty in a client's frame).
    pub user: &'a str,
    pub payload: &'a [u8],
}

impl VideoFrame<'_> {
    /// The frame as bytes.
    pub fn encode(&self) -> Vec<u8> {
        let flags = self.piece.flags(self.key);
        media_frame(
            VIDEO,
            flags,
            &[self.video_id],
            self.time_ms,
            self.user,
            self.payload,
        )
    }
}

/// A video, screen or audio frame: `kind | flags | fields | time_ms | user_len | user | payload`.
fn media_frame(
    kind: u8,
    flags: u8,
    fields: &[u8],
    time_ms: i64,
    user: &str,
    payload: &[u8],
) -> Vec<u8> {
    assert!(user.len() <= u8::MAX as usize, "user IDs are short");
    let mut frame = Vec::with_capacity(11 + fields.len() + user.len() + payload.len());
    frame.extend_from_slice(&[kind, flags]);
    frame.extend_from_slice(fields);
    frame.extend_from_slice(&time_ms.to_be_bytes());
    frame.push(user.len() as u8);
    frame.extend_from_slice(user.as_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Why a binary frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadDataFrame(pub &'static str);

impl std::fmt::Display for BadDataFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad binary frame: {}", self.0)
    }
}

/// Encodes a command frame.
pub fn encode_command(id: u64, peer: &str, payload: &[u8]) -> Vec<u8> {
    assert!(
        peer.len() <= u8::MAX as usize,
        "user IDs are at most 64 bytes"
    );
    let mut frame = Vec::with_capacity(10 + peer.len() + payload.len());
    frame.push(COMMAND);
    frame.extend_from_slice(&id.to_be_bytes());
    frame.push(peer.len() as u8);
    frame.extend_from_slice(peer.as_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Bytes of a chunk frame before its payload.
pub fn chunk_header_len(transfer_id: &str) -> usize {
    2 + transfer_id.len() + 8
}

/// Encodes a chunk frame.
pub fn encode_chunk(transfer_id: &str, offset: u64, payload: &[u8]) -> Vec<u8> {
    encode_offset_frame(CHUNK, transfer_id, offset, payload)
}

/// Encodes a net-disk frame (the same layout as a chunk, kind 0x06); its header is
/// [`chunk_header_len`]`(key)` bytes.
pub fn encode_disk_chunk(key: &str, offset: u64, payload: &[u8]) -> Vec<u8> {
    encode_offset_frame(DISK, key, offset, payload)
}

fn encode_offset_frame(kind: u8, transfer_id: &str, offset: u64, payload: &[u8]) -> Vec<u8> {
    assert!(
        transfer_id.len() <= u8::MAX as usize,
        "transfer IDs are at most 64 bytes"
    );
    let mut frame = Vec::with_capacity(chunk_header_len(transfer_id) + payload.len());
    frame.push(kind);
    frame.push(transfer_id.len() as u8);
    frame.extend_from_slice(transfer_id.as_bytes());
    frame.extend_from_slice(&offset.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Decodes a binary frame.
pub fn decode_data(frame: &[u8]) -> Result<DataFrame<'_>, BadDataFrame> {
    let (&kind, rest) = frame.split_first().ok_or(BadDataFrame("empty"))?;
    match kind {
        COMMAND => {
            let (id, rest) = take_u64(rest)?;
            let (peer, payload) = take_str(rest)?;
            Ok(DataFrame::Command { id, peer, payload })
        }
        CHUNK => {
            let (transfer_id, rest) = take_str(rest)?;
            let (offset, payload) = take_u64(rest)?;
            Ok(DataFrame::Chunk {
                transfer_id,
                offset,
                payload,
            })
        }
        DISK => {
            let (key, rest) = take_str(rest)?;
            let (offset, payload) = take_u64(rest)?;
            Ok(DataFrame::DiskChunk {
                key,
                offset,
                payload,
            })
        }
        VIDEO => {
            let [flags, video_id, ref rest @ ..] = *rest else {
                return Err(BadDataFrame("truncated"));
            };
            let (time, rest) = take_u64(rest)?;
            let (user, payload) = take_str(rest)?;
            Ok(DataFrame::Video(VideoFrame {
                key: flags & VIDEO_KEY_FRAME != 0,
                piece: Piece::of_flags(flags),
                video_id,
                time_ms: time as i64,
                user,
                payload,
            }))
        }
        SCREEN => {
            let (&flags, rest) = rest.split_first().ok_or(BadDataFrame("truncated"))?;
            if rest.len() < 8 {
                return Err(BadDataFrame("truncated"));
            }
            let (r, rest) = rest.split_at(8);
            let rect = [0, 2, 4, 6].map(|i| u16::from_be_bytes([r[i], r[i + 1]]));
            let (time, rest) = take_u64(rest)?;
            let (user, payload) = take_str(rest)?;
            Ok(DataFrame::Screen(ScreenFrame {
                key: flags & VIDEO_KEY_FRAME != 0,
                piece: Piece::of_flags(flags),
                rect,
                time_ms: time as i64,
                user,
                payload,
            }))
        }
        AUDIO | MEDIA_AUDIO => {
            let (&level, rest) = rest.split_first().ok_or(BadDataFrame("truncated"))?;
            if rest.len() < 4 {
                return Err(BadDataFrame("truncated"));
            }
            let (seq, rest) = rest.split_at(4);
            let (time, rest) = take_u64(rest)?;
            let (user, payload) = take_str(rest)?;
            Ok(DataFrame::Audio(AudioFrame {
                level,
                seq: u32::from_be_bytes(seq.try_into().expect("4 bytes")),
                time_ms: time as i64,
                user,
                media: kind == MEDIA_AUDIO,
                payload,
            }))
        }
        _ => Err(BadDataFrame("unknown kind")),
    }
}

fn take_u64(bytes: &[u8]) -> Result<(u64, &[u8]), BadDataFrame> {
    if bytes.len() < 8 {
        return Err(BadDataFrame("truncated"));
    }
    let (head, rest) = bytes.split_at(8);
    Ok((u64::from_be_bytes(head.try_into().unwrap()), rest))
}

fn take_str(bytes: &[u8]) -> Result<(&str, &[u8]), BadDataFrame> {
    let (&len, rest) = bytes.split_first().ok_or(BadDataFrame("truncated"))?;
    if rest.len() < len as usize {
        return Err(BadDataFrame("truncated"));
    }
    let (text, rest) = rest.split_at(len as usize);
    let text = std::str::from_utf8(text).map_err(|_| BadDataFrame("name not UTF-8"))?;
    Ok((text, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_keep_every_byte() {
        let payload = [0u8, 1, 0, 255, 0];
        let frame = encode_command(7, "bob", &payload);
        assert_eq!(
            decode_data(&frame),
            Ok(DataFrame::Command {
                id: 7,
                peer: "bob",
                payload: &payload
            })
        );
        let frame = encode_chunk("t1", 1 << 40, &payload);
        assert_eq!(frame.len(), chunk_header_len("t1") + payload.len());
        assert_eq!(
            decode_data(&frame),
            Ok(DataFrame::Chunk {
                transfer_id: "t1",
                offset: 1 << 40,
                payload: &payload
            })
        );
        let frame = encode_disk_chunk("k1", 5, &payload);
        assert_eq!(frame.len(), chunk_header_len("k1") + payload.len());
        assert_eq!(
            decode_data(&frame),
            Ok(DataFrame::DiskChunk {
                key: "k1",
                offset: 5,
                payload: &payload
            })
        );
        let empty = encode_command(1, "", &[]);
        assert_eq!(
            decode_data(&empty),
            Ok(DataFrame::Command {
                id: 1,
                peer: "",
                payload: &[]
            })
        );
    }

    #[test]
    fn video_frames_round_trip() {
        let frame = VideoFrame {
            key: true,
            piece: Piece::WHOLE,
            video_id: 3,
            time_ms: -5,
            user: "bob",
            payload: &[0, 0, 0, 1, 0x67],
        };
        assert_eq!(decode_data(&frame.encode()), Ok(DataFrame::Video(frame)));
        assert!(decode_data(&[VIDEO, 1]).is_err());
        assert!(decode_data(&frame.encode()[..12]).is_err());
        let screen = ScreenFrame {
            key: false,
            piece: Piece {
                first: false,
                last: true,
            },
            rect: [1, 2, 640, 65535],
            time_ms: 9,
            user: "",
            payload: b"x",
        };
        assert_eq!(decode_data(&screen.encode()), Ok(DataFrame::Screen(screen)));
        assert!(decode_data(&screen.encode()[..10]).is_err());
        let audio = AudioFrame {
            level: 7,
            seq: u32::MAX - 1,
            time_ms: 1 << 40,
            user: "carol",
            media: false,
            payload: &[0xfc, 1, 2],
        };
        assert_eq!(decode_data(&audio.encode()), Ok(DataFrame::Audio(audio)));
        let media = AudioFrame {
            media: true,
            ..audio
        };
        assert_eq!(decode_data(&media.encode()), Ok(DataFrame::Audio(media)));
        assert_ne!(media.encode()[0], audio.encode()[0]);
        assert_eq!(audio.encode().len(), 1 + 1 + 4 + 8 + 1 + 5 + 3);
        assert!(decode_data(&audio.encode()[..5]).is_err());
        assert!(decode_data(&audio.encode()[..13]).is_err());
    }

    #[test]
    fn a_big_picture_goes_in_pieces_that_fit_and_join_up() {
        let picture: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let max_frame = MAX_MEDIA_HEADER + 3000;
        let parts = pieces(&picture, max_frame);
        assert_eq!(parts.len(), 4);
        let (mut joined, mut flags) = (Vec::new(), Vec::new());
        for (piece, part) in &parts {
            let frame = VideoFrame {
                key: true,
                piece: *piece,
                video_id: 1,
                time_ms: 5,
                user: &"u".repeat(255),
                payload: part,
            };
            let bytes = frame.encode();
            assert!(bytes.len() <= max_frame, "{} > {max_frame}", bytes.len());
            let Ok(DataFrame::Video(back)) = decode_data(&bytes) else {
                panic!("a piece decodes");
            };
            assert_eq!(back, frame);
            joined.extend_from_slice(back.payload);
            flags.push((back.piece.first, back.piece.last));
        }
        assert_eq!(joined, picture);
        let ends = [(true, false), (false, false), (false, false), (false, true)];
        assert_eq!(flags, ends);
        assert_eq!(
            pieces(&picture, 1 << 20),
            vec![(Piece::WHOLE, &picture[..])]
        );
        assert_eq!(pieces(&[], 1 << 20), vec![(Piece::WHOLE, &[][..])]);
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(decode_data(&[]).is_err());
        assert!(decode_data(&[9, 1, 2]).is_err());
        assert!(decode_data(&[COMMAND, 0, 0]).is_err());
        let mut frame = encode_command(1, "bob", b"x");
        frame.truncate(10);
        assert!(decode_data(&frame).is_err());
        assert!(decode_data(&[CHUNK, 5, b'a']).is_err());
        assert!(decode_data(&[CHUNK, 1, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
