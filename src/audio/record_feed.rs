//! PCM for a recording (`crate::record`): this user's microphone as sent to the meeting and
//! the speaker mix of the others, kept while a recording runs. The recorder takes them at
//! its own clock; each side keeps at most [`KEEP`] samples (the oldest go), so a recorder
//! that stalls never grows memory.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

use super::codec::RATE;

/// Samples kept per side: 1 s.
pub const KEEP: usize = RATE;

#[derive(Default)]
pub struct RecordFeed {
    own: VecDeque<i16>,
    others: VecDeque<i16>,
}

/// The feed while a recording runs (None otherwise).
pub type SharedFeed = Arc<Mutex<Option<RecordFeed>>>;

fn add(side: &mut VecDeque<i16>, pcm: &[i16]) {
    side.extend(pcm);
    let over = side.len().saturating_sub(KEEP);
    side.drain(..over);
}

impl RecordFeed {
    pub fn add_own(&mut self, pcm: &[i16]) {
        add(&mut self.own, pcm);
    }

    pub fn add_others(&mut self, pcm: &[i16]) {
        add(&mut self.others, pcm);
    }

    /// Samples waiting: (own, others).
    pub fn waiting(&self) -> (usize, usize) {
        (self.own.len(), self.others.len())
    }

    /// Moves up to `n` samples of each side into `own` and `others` (cleared first), then
    /// pads each with silence to `n`; each side then keeps at most `keep` samples.
    pub fn take(&mut self, n: usize, keep: usize, own: &mut Vec<i16>, others: &mut Vec<i16>) {
        for (side, out) in [(&mut self.own, own), (&mut self.others, others)] {
            out.clear();
            let m = n.min(side.len());
            out.extend(side.drain(..m));
            out.resize(n, 0);
            let over = side.len().saturating_sub(keep);
            side.drain(..over);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_in_order_pads_with_silence_and_trims_to_keep() {
        let mut feed = RecordFeed::default();
        feed.add_own(&[1, 2, 3]);
        feed.add_others(&[7; 10]);
        let (mut own, mut others) = (Vec::new(), Vec::new());
        feed.take(4, 2, &mut own, &mut others);
        assert_eq!(own, [1, 2, 3, 0]);
        assert_eq!(others, [7; 4]);
        assert_eq!(feed.waiting(), (0, 2), "others trimmed to keep");
        feed.add_own(&vec![5; KEEP + 10]);
        assert_eq!(feed.waiting().0, KEEP);
    }
}
