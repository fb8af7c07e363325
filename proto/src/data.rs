//! Binary frames of the transparent channel: commands and bulk-transfer chunks.
//!
//! Payloads travel as raw bytes (no base64); a short binary header says what they are.
//! Integers are big-endian.
//!
//! ```text
//! command: 0x01 | id: u64 | peer_len: u8 | peer (UTF-8) | payload
//! chunk:   0x02 | id_len: u8 | transfer_id (ASCII) | offset: u64 | payload
//! ```
//!
//! A command from a client names the target in `peer` and its request id in `id` (the
//! server answers with a [`Reply`](crate::Reply) to it once the target's SDK acknowledged,
//! or with an error). Relayed to the target, `peer` is the source and `id` the server's relay
//! id, which the target acknowledges with [`Request::CmdAck`](crate::Request::CmdAck).
//! A chunk is relayed unchanged from the sender to the receiver of its transfer.

const COMMAND: u8 = 0x01;
const CHUNK: u8 = 0x02;

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
    assert!(
        transfer_id.len() <= u8::MAX as usize,
        "transfer IDs are at most 64 bytes"
    );
    let mut frame = Vec::with_capacity(chunk_header_len(transfer_id) + payload.len());
    frame.push(CHUNK);
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
