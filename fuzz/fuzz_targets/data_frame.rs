//! Binary frames (`crvideo_proto::data`), decoded by the server (from any client) and by the
//! SDK (relayed commands and chunks).
//!
//! Invariants:
//! - a decoded frame is canonical: encoding its parts gives back exactly the input bytes;
//! - a refusal says why: "empty" for no bytes, "unknown kind" for a first byte other than
//!   command / chunk, else "truncated" or "name not UTF-8";
//! - any ID (at most 255 bytes), number and payload built from the input round-trip through
//!   both encoders.
#![no_main]

use crvideo_proto::data::{
    chunk_header_len, decode_data, encode_chunk, encode_command, BadDataFrame, DataFrame,
};
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
        Err(BadDataFrame(why)) => match data.first() {
            None => assert_eq!(why, "empty"),
            Some(1 | 2) => assert!(why == "truncated" || why == "name not UTF-8", "{why}"),
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
});
