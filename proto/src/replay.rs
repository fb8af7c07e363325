//! What one side of a resumable session keeps of the text frames it wrote, so that it can
//! send again those the other side missed when the session resumes on a new connection.
//!
//! Both sides count the session's text frames from an agreed point (after `enable_resume`):
//! the writer numbers each frame it writes, the reader counts each frame it reads, and the
//! reader's count acknowledges (every heartbeat, and every [`crate::RESUME_ACK_EVERY`]
//! frames) what the writer may let go. On resume each side says how many it read; the other
//! sends again the frames after that count.

use std::collections::VecDeque;

/// Frames written and not yet acknowledged, within bounds.
#[derive(Debug)]
pub struct Replay<T> {
    counting: bool,
    /// Counting was called off: a later start does nothing.
    off: bool,
    /// Frames written since counting started.
    written: u64,
    /// Written, unacknowledged: (number, frame, bytes), oldest first.
    kept: VecDeque<(u64, T, usize)>,
    kept_bytes: usize,
    /// Frames up to this number were let go unacknowledged (over the bounds): a resume that
    /// needs them cannot be served.
    dropped_through: u64,
    max_frames: usize,
    max_bytes: usize,
}

impl<T: Clone> Replay<T> {
    /// Keeps at most `max_frames` frames and `max_bytes` bytes unacknowledged.
    pub fn new(max_frames: usize, max_bytes: usize) -> Replay<T> {
        Replay {
            counting: false,
            off: false,
            written: 0,
            kept: VecDeque::new(),
            kept_bytes: 0,
            dropped_through: 0,
            max_frames,
            max_bytes,
        }
    }

    /// Frames written from now on are counted and kept.
    pub fn start_counting(&mut self) {
        self.counting = !self.off;
    }

    pub fn is_counting(&self) -> bool {
        self.counting
    }

    /// Counting is off after all (the other side will not acknowledge): keep nothing, now
    /// or later (even if the start is seen after this).
    pub fn stop_counting(&mut self) {
        self.off = true;
        self.counting = false;
        self.kept.clear();
        self.kept_bytes = 0;
    }

    /// A text frame of `bytes` bytes is being written (ignored before counting starts).
    pub fn record(&mut self, frame: &T, bytes: usize) {
        if !self.counting {
            return;
        }
        self.written += 1;
        self.kept_bytes += bytes;
        self.kept.push_back((self.written, frame.clone(), bytes));
        while self.kept.len() > self.max_frames || self.kept_bytes > self.max_bytes {
            let (n, _, old) = self.kept.pop_front().expect("over a bound means not empty");
            self.kept_bytes -= old;
            self.dropped_through = n;
        }
    }

    /// The other side read every frame up to `received`.
    pub fn ack(&mut self, received: u64) {
        while self.kept.front().is_some_and(|(n, _, _)| *n <= received) {
            let (_, _, old) = self.kept.pop_front().expect("checked");
            self.kept_bytes -= old;
        }
    }

    /// The frames after the first `received`, to send again; None when some of them are no
    /// longer kept, or when `received` is more than was written (not a count of ours).
    pub fn after(&self, received: u64) -> Option<Vec<T>> {
        if received < self.dropped_through || received > self.written {
            return None;
        }
        let frames = self.kept.iter().filter(|(n, _, _)| *n > received);
        Some(frames.map(|(_, frame, _)| frame.clone()).collect())
    }

    /// Frames kept now.
    pub fn kept(&self) -> usize {
        self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_is_not_acknowledged_and_serves_a_resume() {
        let mut r = Replay::new(3, 100);
        r.record(&"before", 1);
        assert_eq!(r.kept(), 0, "not counting yet");
        r.start_counting();
        for f in ["a", "b", "c"] {
            r.record(&f, 1);
        }
        assert_eq!(r.after(1), Some(vec!["b", "c"]));
        assert_eq!(r.after(3), Some(vec![]));
        assert_eq!(r.after(4), None, "more than written");
        r.ack(2);
        assert_eq!(r.kept(), 1);
        assert_eq!(r.after(2), Some(vec!["c"]));
        // Over the frame bound the oldest go, and a resume needing them fails.
        for f in ["d", "e", "f"] {
            r.record(&f, 1);
        }
        assert_eq!(r.kept(), 3);
        assert_eq!(r.after(2), None);
        assert_eq!(r.after(3), Some(vec!["d", "e", "f"]));
        // Over the byte bound too: "big" pushes out "d" (frames) and "e" (bytes).
        r.record(&"big", 99);
        assert_eq!(r.after(5), Some(vec!["f", "big"]));
        assert_eq!(r.after(4), None);
        // Called off: nothing kept, whatever order the start and the stop come in.
        r.stop_counting();
        r.start_counting();
        r.record(&"later", 1);
        assert_eq!(r.kept(), 0);
    }
}
