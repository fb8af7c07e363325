//! Joining a received picture's pieces (see [`crvideo_proto::data::Piece`]): a picture
//! larger than one frame arrives as consecutive frames; the decoder gets it whole or not
//! at all.

use std::borrow::Cow;

use crvideo_proto::data::Piece;
use tokio_tungstenite::tungstenite::Bytes;

/// The largest picture joined from pieces: four times a raw 4K picture, more than any
/// encoded picture of a camera or screen the SDK accepts.
pub const MAX_PICTURE_BYTES: usize = 4 * 3840 * 2160 * 3 / 2;

/// One encoded picture: its frame's header and its bytes, in pieces as they arrived
/// (joined on the decoder's thread, not the I/O thread).
#[derive(Debug)]
pub struct Packet {
    pub key: bool,
    pub time_ms: i64,
    /// A screen frame's changed area.
    pub rect: Option<[u16; 4]>,
    pub parts: Vec<Bytes>,
}

impl Packet {
    fn bytes(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum()
    }

    /// The picture's bytes in one piece.
    pub fn joined(&self) -> Cow<'_, [u8]> {
        match &self.parts[..] {
            [one] => Cow::Borrowed(one),
            parts => Cow::Owned(parts.concat()),
        }
    }
}

/// What a frame made of the picture being joined.
#[derive(Debug)]
pub struct Joined {
    /// A whole picture for the decoder.
    pub picture: Option<Packet>,
    /// A picture could not be whole (a piece never came, or it is too big): the decoder
    /// must skip to the next key frame.
    pub lost: bool,
}

/// The picture whose pieces are arriving, of one video.
#[derive(Default)]
pub struct Joiner {
    unfinished: Option<Packet>,
}

impl Joiner {
    /// Takes a frame of the video: `data` is `piece` of the picture stamped `time_ms`.
    pub fn add(
        &mut self,
        key: bool,
        time_ms: i64,
        rect: Option<[u16; 4]>,
        piece: Piece,
        data: Bytes,
    ) -> Joined {
        if piece.first {
            // A picture still unfinished will never be: its remaining pieces were not sent.
            let lost = self.unfinished.take().is_some();
            let parts = vec![data];
            let packet = Packet {
                key,
                time_ms,
                rect,
                parts,
            };
            let picture = match piece.last {
                true => Some(packet),
                false => {
                    self.unfinished = Some(packet);
                    None
                }
            };
            return Joined { picture, lost };
        }
        let lost = Joined {
            picture: None,
            lost: true,
        };
        // The picture's start never came here.
        let Some(packet) = self.unfinished.as_mut() else {
            return lost;
        };
        let fits = packet.bytes() + data.len() <= MAX_PICTURE_BYTES;
        if packet.time_ms != time_ms || !fits {
            self.unfinished = None;
            return lost;
        }
        packet.parts.push(data);
        let picture = match piece.last {
            true => self.unfinished.take(),
            false => None,
        };
        Joined {
            picture,
            lost: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Piece = Piece {
        first: true,
        last: false,
    };
    const MIDDLE: Piece = Piece {
        first: false,
        last: false,
    };
    const LAST: Piece = Piece {
        first: false,
        last: true,
    };

    fn add(
        j: &mut Joiner,
        piece: Piece,
        time_ms: i64,
        data: &'static [u8],
    ) -> (Option<Vec<u8>>, bool) {
        let joined = j.add(true, time_ms, None, piece, Bytes::from_static(data));
        let picture = joined.picture.map(|p| p.joined().into_owned());
        (picture, joined.lost)
    }

    #[test]
    fn a_whole_picture_passes_and_pieces_join_in_order() {
        let mut j = Joiner::default();
        assert_eq!(
            add(&mut j, Piece::WHOLE, 1, b"abc"),
            (Some(b"abc".to_vec()), false)
        );
        assert_eq!(add(&mut j, FIRST, 2, b"ab"), (None, false));
        assert_eq!(add(&mut j, MIDDLE, 2, b"cd"), (None, false));
        assert_eq!(add(&mut j, LAST, 2, b"e"), (Some(b"abcde".to_vec()), false));
        // Nothing is left over: the next picture starts afresh.
        assert_eq!(
            add(&mut j, Piece::WHOLE, 3, b"x"),
            (Some(b"x".to_vec()), false)
        );
    }

    #[test]
    fn a_picture_missing_a_piece_is_lost_never_joined_with_another() {
        let mut j = Joiner::default();
        // Its end never came: the next picture's start says so, and is kept.
        assert_eq!(add(&mut j, FIRST, 1, b"ab"), (None, false));
        assert_eq!(add(&mut j, FIRST, 2, b"AB"), (None, true));
        assert_eq!(add(&mut j, LAST, 2, b"C"), (Some(b"ABC".to_vec()), false));
        // Its start never came.
        assert_eq!(add(&mut j, MIDDLE, 3, b"cd"), (None, true));
        assert_eq!(add(&mut j, LAST, 3, b"e"), (None, true));
        // A piece of another picture (another time) in the middle.
        assert_eq!(add(&mut j, FIRST, 4, b"ab"), (None, false));
        assert_eq!(add(&mut j, LAST, 5, b"e"), (None, true));
        assert_eq!(
            add(&mut j, Piece::WHOLE, 6, b"x"),
            (Some(b"x".to_vec()), false)
        );
    }

    #[test]
    fn a_picture_over_the_limit_is_lost() {
        let mut j = Joiner::default();
        let big = Bytes::from(vec![0u8; MAX_PICTURE_BYTES]);
        let joined = j.add(true, 1, None, FIRST, big);
        assert!(joined.picture.is_none() && !joined.lost);
        assert_eq!(add(&mut j, LAST, 1, b"e"), (None, true));
    }
}
