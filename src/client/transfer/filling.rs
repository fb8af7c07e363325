//! The SDK's copy of a buffer being sent, filled while the transfer already runs.
//!
//! `CRVideo_SendBuffer` must copy the app's buffer before it returns (the app may free it
//! then), and copying a large buffer into fresh memory takes long (0.4 s per GiB on the
//! benchmark machine). So the call offers the transfer first and copies afterwards, piece
//! by piece; the upload reads each chunk as soon as its pieces are copied, and frees the
//! pieces it has sent. The copy still ends before the call returns.

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};

/// Size of one piece of the copy.
const PIECE_BYTES: usize = 1 << 20;

pub struct FillingBuffer {
    total: usize,
    state: Mutex<Filling>,
    grown: Condvar,
}

struct Filling {
    /// The copied pieces, in order; the ones already sent are emptied.
    pieces: Vec<Bytes>,
    /// Bytes copied so far.
    filled: usize,
    /// The copy stopped before the end (the call failed): readers waiting give up.
    abandoned: bool,
}

impl FillingBuffer {
    /// An empty copy of a buffer of `total` bytes.
    pub fn new(total: usize) -> FillingBuffer {
        FillingBuffer {
            total,
            state: Mutex::new(Filling {
                pieces: Vec::with_capacity(total.div_ceil(PIECE_BYTES)),
                filled: 0,
                abandoned: false,
            }),
            grown: Condvar::new(),
        }
    }

    /// Copies `data` (the whole buffer, `total` bytes) in, waking readers after each
    /// piece. Should it stop early (a panic), waiting readers give up instead of waiting
    /// for ever.
    pub fn fill(&self, data: &[u8]) {
        struct AbandonUnlessDone<'a>(&'a FillingBuffer);
        impl Drop for AbandonUnlessDone<'_> {
            fn drop(&mut self) {
                self.0.abandon();
            }
        }
        let _guard = AbandonUnlessDone(self);
        debug_assert_eq!(data.len(), self.total);
        for piece in data.chunks(PIECE_BYTES) {
            let piece = Bytes::copy_from_slice(piece);
            let mut state = self.state.lock();
            state.filled += piece.len();
            state.pieces.push(piece);
            drop(state);
            self.grown.notify_all();
        }
    }

    /// The copy will not be completed (a no-op once it is): readers waiting give up.
    pub fn abandon(&self) {
        let mut state = self.state.lock();
        if state.filled < self.total {
            state.abandoned = true;
        }
        drop(state);
        self.grown.notify_all();
    }

    /// Appends bytes `start..start + len` to `out` once they are copied, then frees the
    /// pieces that lie wholly before `start + len` (chunks are read once, in order). Err
    /// when the copy was abandoned first, or the range was already freed.
    pub fn read_into(&self, start: usize, len: usize, out: &mut Vec<u8>) -> Result<(), ()> {
        let end = start + len;
        if end > self.total {
            return Err(());
        }
        let mut state = self.state.lock();
        while state.filled < end {
            if state.abandoned {
                return Err(());
            }
            self.grown.wait(&mut state);
        }
        // The slices (shared, not copied) under the lock; the copy outside it.
        let mut parts = Vec::with_capacity(2);
        let mut pos = start;
        while pos < end {
            let piece = &state.pieces[pos / PIECE_BYTES];
            let within = pos % PIECE_BYTES;
            if piece.len() <= within {
                return Err(()); // freed: read twice
            }
            let n = (piece.len() - within).min(end - pos);
            parts.push(piece.slice(within..within + n));
            pos += n;
        }
        for piece in &mut state.pieces[..end / PIECE_BYTES] {
            *piece = Bytes::new();
        }
        drop(state);
        out.reserve(len);
        for part in parts {
            out.extend_from_slice(&part);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn chunks_across_pieces_read_back_exactly_while_the_copy_runs() {
        let data = pattern(3 * PIECE_BYTES + 12345);
        let buffer = Arc::new(FillingBuffer::new(data.len()));
        let reader = {
            let buffer = buffer.clone();
            let total = data.len();
            std::thread::spawn(move || {
                // Chunks that do not line up with the pieces, as the upload's may not.
                let mut out = Vec::new();
                let mut pos = 0;
                while pos < total {
                    let len = (300 * 1024).min(total - pos);
                    buffer.read_into(pos, len, &mut out).unwrap();
                    pos += len;
                }
                out
            })
        };
        buffer.fill(&data);
        assert_eq!(reader.join().unwrap(), data);
        // What was read is freed.
        let state = buffer.state.lock();
        assert!(state.pieces[..3].iter().all(Bytes::is_empty));
    }

    #[test]
    fn an_abandoned_copy_fails_the_waiting_reader() {
        let buffer = Arc::new(FillingBuffer::new(2 * PIECE_BYTES));
        let reader = {
            let buffer = buffer.clone();
            std::thread::spawn(move || buffer.read_into(0, 2 * PIECE_BYTES, &mut Vec::new()))
        };
        buffer.abandon();
        assert_eq!(reader.join().unwrap(), Err(()));
    }

    #[test]
    fn empty_and_out_of_range() {
        let buffer = FillingBuffer::new(0);
        buffer.fill(&[]);
        let mut out = Vec::new();
        assert_eq!(buffer.read_into(0, 0, &mut out), Ok(()));
        assert_eq!(buffer.read_into(0, 1, &mut out), Err(()));
    }
}
