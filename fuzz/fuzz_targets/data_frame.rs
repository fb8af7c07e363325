//! Binary frames (`crvideo_proto::data`), decoded by the server (from any client) and by the
//! SDK (relayed commands, chunks, video, screen and audio frames).
//!
//! Invariants:
//! - a decoded frame is canonical: encoding its parts gives back exactly the input bytes
//!   (a video or screen frame's flags without the bits it ignores);
//! - a refusal says why: "empty" for no bytes, "unknown kind" for a first byte other than
//!   command / chunk / video / screen / audio / disk, else "truncated" or "name not UTF-8";
//! - any ID (at most 255 bytes), number and payload built from the input round-trip through
//!   every encoder, a picture's pieces included.
#![no_main]

use crvideo_proto::data::{
    chunk_header_len, decode_data, encode_chunk, encode_command, encode_disk_chunk, AudioFrame,
    BadDataFrame,
    DataFrame, ScreenFrame, VideoFrame, MEDIA_FLAGS,
};

/// `data` with its flags byte (the second) reduced to the bits a media frame means.
fn known_flags(data: &[u8]) -> Vec<u8> {
    let mut canonical = data.to_vec();
    canonical[1] &= MEDIA_FLAGS;
    canonical
}
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode_data(data) {
        Ok(DataFrame::Command { id, peer, payload }) => {
            assert_eq!(encode_command(id, peer, payload), data);
        }
        Ok(DataFrame::Chunk {
            transfer_id,
            offset,
            payload,
        }) => {
            assert_eq!(encode_chunk(transfer_id, offset, payload), data);
            assert_eq!(chunk_header_len(transfer_id) + payload.len(), data.len());
        }
        Ok(DataFrame::Video(frame)) => assert_eq!(frame.encode(), known_flags(data)),
        Ok(DataFrame::Screen(frame)) => assert_eq!(frame.encode(), known_flags(data)),
        Ok(DataFrame::Audio(frame)) => assert_eq!(frame.encode(), data),
        Ok(DataFrame::DiskChunk {
            key,
            offset,
            payload,
        }) => {
            assert_eq!(encode_disk_chunk(key, offset, payload), data);
            assert_eq!(chunk_header_len(key) + payload.len(), data.len());
        }
        Err(BadDataFrame(why)) => match data.first() {
            None => assert_eq!(why, "empty"),
            Some(1..=7) => assert!(why == "truncated" || why == "name not UTF-8", "{why}"),
            Some(_) => assert_eq!(why, "unknown kind"),
        },
    }

    // Structured: 8 bytes of number, a length byte, that many bytes of name, the payload.
    if data.len() < 9 {
        return;
    }
    let number = u64::from_be_bytes(data[..8].try_into().unwrap());
    let rest = &data[9..];
    let name_len = usize::from(data[8]).min(rest.len());
    let (name, payload) = rest.split_at(name_len);
    let mut name = String::from_utf8_lossy(name).into_owned();
    while name.len() > usize::from(u8::MAX) {
        name.pop();
    }
    let frame = encode_command(number, &name, payload);
    assert_eq!(
        decode_data(&frame),
        Ok(DataFrame::Command {
            id: number,
            peer: &name,
            payload
        })
    );
    let frame = encode_chunk(&name, number, payload);
    assert_eq!(frame.len(), chunk_header_len(&name) + payload.len());
    assert_eq!(
        decode_data(&frame),
        Ok(DataFrame::Chunk {
            transfer_id: &name,
            offset: number,
            payload
        })
    );
    let frame = encode_disk_chunk(&name, number, payload);
    assert_eq!(
        decode_data(&frame),
        Ok(DataFrame::DiskChunk {
            key: &name,
            offset: number,
            payload
        })
    );

    // A picture of `payload` in the pieces of frames of at most `max_frame` bytes: each
    // fits, decodes to what was encoded, and the pieces join up to the picture.
    let max_frame = 275 + (number % 4096) as usize;
    let pieces = crvideo_proto::data::pieces(payload, max_frame);
    let mut joined = Vec::new();
    for (i, &(piece, part)) in pieces.iter().enumerate() {
        assert_eq!((piece.first, piece.last), (i == 0, i + 1 == pieces.len()));
        let video = VideoFrame {
            key: number & 1 == 1,
            piece,
            video_id: data[0],
            time_ms: number as i64,
            user: &name,
            payload: part,
        };
        let frame = video.encode();
        assert!(frame.len() <= max_frame, "{} > {max_frame}", frame.len());
        assert_eq!(decode_data(&frame), Ok(DataFrame::Video(video)));
        let screen = ScreenFrame {
            key: video.key,
            piece,
            rect: [0, 2, 4, 6].map(|i| u16::from_be_bytes([data[i], data[i + 1]])),
            time_ms: video.time_ms,
            user: &name,
            payload: part,
        };
        assert_eq!(decode_data(&screen.encode()), Ok(DataFrame::Screen(screen)));
        joined.extend_from_slice(part);
    }
    assert_eq!(joined, payload);

    let audio = AudioFrame {
        level: data[0],
        seq: number as u32,
        time_ms: number as i64,
        user: &name,
        // The microphone's frames and the media's (kind 0x07) alike.
        media: data[0] & 1 == 1,
        payload,
    };
    assert_eq!(decode_data(&audio.encode()), Ok(DataFrame::Audio(audio)));
});
